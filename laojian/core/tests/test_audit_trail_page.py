"""The audit trail page (issue 10): the auditor reads their committee's entries, filtered; the
other administrators are refused; reading is itself audited; a tampered entry shows as broken."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from laojian.core import audit
from laojian.core.models import AuditEvent, Committee
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.core.tests.test_audit import disable_append_only_trigger, raw_sql

pytestmark = pytest.mark.django_db

URL = reverse("audit_trail")


@pytest.fixture
def committee():
    return CommitteeFactory()


@pytest.fixture
def auditor(committee):
    return UserFactory(committee=committee, roles=["auditor"], display_name="审计员甲")


def get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params)


def test_the_auditor_sees_own_committee_entries_and_not_another_committees(client, auditor, committee):
    own = audit.record("case_accepted", committee=committee, object_type="cases.case", object_id="17")
    other = audit.record("case_accepted", committee=CommitteeFactory(), object_type="cases.case", object_id="18")
    html = get(client, auditor).content.decode()
    assert f'id="event-{own.pk}"' in html
    assert f'id="event-{other.pk}"' not in html


def test_system_entries_show_only_for_actors_in_scope(client, auditor, committee):
    colleague = UserFactory(committee=committee)
    stranger = UserFactory(committee=CommitteeFactory())
    mine = audit.record("login", actor=colleague)
    theirs = audit.record("login", actor=stranger)
    html = get(client, auditor).content.decode()
    assert f'id="event-{mine.pk}"' in html
    assert f'id="event-{theirs.pk}"' not in html


def test_a_provincial_auditor_also_sees_the_cities(client):
    province = CommitteeFactory(level=Committee.Level.PROVINCE)
    city = CommitteeFactory(province=province)
    event = audit.record("case_accepted", committee=city)
    html = get(client, UserFactory(committee=province, roles=["auditor"])).content.decode()
    assert f'id="event-{event.pk}"' in html


@pytest.mark.parametrize("role", ["clerk", "admin", "security"])
def test_other_roles_are_refused(client, committee, role):
    assert get(client, UserFactory(committee=committee, roles=[role])).status_code in (403, 404)


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(URL).status_code == 302


def test_the_action_filter_matches_a_prefix(client, auditor, committee):
    hit = audit.record("case_accepted", committee=committee)
    miss = audit.record("draw_run", committee=committee)
    html = get(client, auditor, action="case_").content.decode()
    assert f'id="event-{hit.pk}"' in html and f'id="event-{miss.pk}"' not in html


def test_the_actor_filter_matches_part_of_the_name(client, auditor, committee):
    hit = audit.record("case_accepted", committee=committee, actor=UserFactory(committee=committee,
                                                                                display_name="李雪梅"))
    miss = audit.record("case_accepted", committee=committee, actor=UserFactory(committee=committee,
                                                                                 display_name="赵志刚"))
    html = get(client, auditor, actor="雪梅").content.decode()
    assert f'id="event-{hit.pk}"' in html and f'id="event-{miss.pk}"' not in html


def test_the_object_filters_match_type_and_id(client, auditor, committee):
    hit = audit.record("case_accepted", committee=committee, object_type="cases.case", object_id="5")
    other_id = audit.record("case_accepted", committee=committee, object_type="cases.case", object_id="6")
    other_type = audit.record("draw_run", committee=committee, object_type="experts.draw", object_id="5")
    html = get(client, auditor, object_type="cases.case", object_id="5").content.decode()
    assert f'id="event-{hit.pk}"' in html
    assert f'id="event-{other_id.pk}"' not in html and f'id="event-{other_type.pk}"' not in html


def test_the_date_filter_uses_local_days(client, auditor, committee, monkeypatch):
    # 2026-12-06 23:30 in Shanghai is 15:30 UTC; 2026-12-07 00:30 in Shanghai is 16:30 UTC on the 6th.
    late = dt.datetime(2026, 12, 6, 15, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: late)
    before_midnight = audit.record("case_accepted", committee=committee)
    monkeypatch.setattr(timezone, "now", lambda: late + dt.timedelta(hours=1))
    after_midnight = audit.record("case_accepted", committee=committee)
    monkeypatch.undo()
    html = get(client, auditor, first="2026-12-07", last="2026-12-07").content.decode()
    assert f'id="event-{after_midnight.pk}"' in html
    assert f'id="event-{before_midnight.pk}"' not in html


def test_a_bad_date_shows_a_form_error_in_the_users_language(client, auditor):
    response = get(client, auditor, first="2026-13-45")
    assert response.status_code == 200
    assert "输入一个有效的日期" in response.content.decode()
    assert 'id="audit-events"' not in response.content.decode()


def test_an_end_before_the_start_is_an_error_not_a_crash(client, auditor):
    response = get(client, auditor, first="2026-12-07", last="2026-12-01")
    assert response.status_code == 200 and 'id="audit-events"' not in response.content.decode()


def test_a_date_out_of_range_is_an_error_not_a_crash(client, auditor):
    assert get(client, auditor, last="9999-12-31").status_code == 200


def test_reading_is_audited_with_the_filters_but_not_the_name(client, auditor, committee):
    get(client, auditor, action="case_", actor="雪梅")
    event = AuditEvent.objects.filter(action="audit.read").get()
    assert event.actor_id == auditor.pk and event.committee_id == committee.pk
    assert event.after == {"filters": {"action": "case_", "actor": True}, "page": 1, "verified": False}
    assert "雪梅" not in str(event.after)


def test_the_page_is_newest_first_and_paginated(client, auditor, committee):
    events = [audit.record("case_accepted", committee=committee) for _ in range(51)]
    html = get(client, auditor).content.decode()
    assert f'id="event-{events[-1].pk}"' in html and f'id="event-{events[0].pk}"' not in html
    html = get(client, auditor, page=2).content.decode()
    assert f'id="event-{events[0].pk}"' in html


def test_the_details_are_escaped(client, auditor, committee):
    audit.record("case_note", committee=committee, after={"text": "<script>x</script>"})
    html = get(client, auditor).content.decode()
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html


def test_the_chains_are_checked_only_on_demand_and_intact(client, auditor, committee):
    audit.record("case_accepted", committee=committee)
    assert 'class="chain-intact"' not in get(client, auditor).content.decode()
    html = get(client, auditor, verify="1").content.decode()
    assert 'class="chain-intact"' in html and 'class="chain-broken"' not in html


def test_a_tampered_entry_shows_as_broken(client, auditor, committee):
    audit.record("case_created", committee=committee)
    second = audit.record("case_accepted", committee=committee, after={"state": "accepted"})
    audit.record("case_reviewed", committee=committee)
    disable_append_only_trigger()
    raw_sql("UPDATE core_auditevent SET after = %s WHERE id = %s", ['{"state": "rejected"}', second.pk])
    html = get(client, auditor, verify="1").content.decode()
    assert f'class="chain-broken" data-broken-seq="{second.seq}"' in html


def test_the_nav_shows_the_link_to_the_auditor_only(client, auditor, committee):
    assert URL in get(client, auditor).content.decode()
    client.force_login(UserFactory(committee=committee, roles=["clerk"]))
    assert f'href="{URL}"' not in client.get(reverse("account")).content.decode()


EXPORT_URL = reverse("audit_trail_export")


def export(client, user, **params):
    client.force_login(user)
    return client.get(EXPORT_URL, params)


def exported_cells(response) -> list[tuple]:
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows())


def exported_rows(response) -> list[tuple]:
    return [tuple(cell.value for cell in row) for row in exported_cells(response)]


def test_the_export_holds_the_filtered_entries_of_the_scope(client, auditor, committee):
    mine = audit.record("case_accepted", committee=committee, object_type="cases.case", object_id="7")
    audit.record("login_failed", committee=committee)
    audit.record("case_accepted", committee=CommitteeFactory())
    response = export(client, auditor, action="case_")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    rows = exported_rows(response)[1:]
    assert [(r[2], r[3], r[4], r[8]) for r in rows] == [("case_accepted", "cases.case", "7", mine.seq)]


def test_the_export_keeps_a_formula_as_text(client, auditor, committee):
    audit.record("case_note", committee=committee, object_id="=HYPERLINK(\"x\")")
    cell = exported_cells(export(client, auditor, action="case_note"))[1][4]
    assert cell.value == "=HYPERLINK(\"x\")" and cell.data_type == "s"


def test_exporting_is_audited_with_the_row_count(client, auditor, committee):
    audit.record("case_accepted", committee=committee)
    export(client, auditor, action="case_")
    event = AuditEvent.objects.filter(action="audit.export").get()
    assert event.actor_id == auditor.pk
    assert event.after == {"filters": {"action": "case_"}, "rows": 1, "truncated": False}


def test_the_export_is_refused_to_the_system_admin(client, committee):
    assert export(client, UserFactory(committee=committee, roles=["admin"])).status_code == 403
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_a_bad_export_filter_is_a_form_error_not_a_file(client, auditor):
    response = export(client, auditor, first="2026-13-40")
    assert response.status_code == 400 and "field-error" in response.content.decode()
