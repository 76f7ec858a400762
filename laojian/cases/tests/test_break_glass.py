"""Break-glass (issue 10): the system administrator reads one case's medical content for a limited
time, with a logged reason; everything is in the audit trail; the grant expires by the clock."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from laojian.cases import breakglass, materials
from laojian.cases.models import BreakGlassGrant, Sensitivity
from laojian.cases.tests.factories import CaseFactory, InjuryDeterminationFactory
from laojian.core.errors import NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.sittings import records

pytestmark = pytest.mark.django_db

DIAGNOSIS_A = "左股骨颈骨折术后破窗甲诊断"
DIAGNOSIS_B = "右桡骨远端骨折破窗乙诊断"
REASON = "排查委员会报告的材料页面显示故障（工单 4711）"
START = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(monkeypatch):
    """A controlled clock: ``clock.now`` is what timezone.now() returns until moved."""

    class Clock:
        now = START

        def move(self, **delta):
            self.now = self.now + dt.timedelta(**delta)

    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.fixture
def committee():
    return CommitteeFactory()


def make_case(committee, seq: int, diagnosis: str):
    return CaseFactory(committee=committee, year=2026, seq=seq, number=committee.format_case_number(2026, seq),
                       determination=InjuryDeterminationFactory(diagnosis=diagnosis))


@pytest.fixture
def case_a(committee):
    return make_case(committee, 1, DIAGNOSIS_A)


@pytest.fixture
def case_b(committee):
    return make_case(committee, 2, DIAGNOSIS_B)


@pytest.fixture
def admin(committee):
    return UserFactory(roles=["admin"], committee=committee)


def page(client, case) -> str:
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def grant(client, case, reason=REASON, reference=None):
    return client.post(reverse("break_glass"), {"case": reference or case.number, "reason": reason})


def test_without_a_grant_the_admin_sees_no_medical_content_but_the_way_to_ask(client, admin, case_a, clock):
    client.force_login(admin)
    html = page(client, case_a)
    assert DIAGNOSIS_A not in html
    assert reverse("break_glass") + f"?case={case_a.pk}" in html
    assert not breakglass.can_view_medical(admin, case_a)
    assert not materials.can_view_files(admin, case_a)


def test_a_grant_opens_the_case_logs_the_reason_and_every_page_view(client, admin, case_a, clock):
    client.force_login(admin)
    assert client.get(reverse("break_glass") + f"?case={case_a.pk}").status_code == 200

    response = grant(client, case_a)

    assert response.status_code == 302 and response["Location"] == reverse("cases:detail", args=[case_a.pk])
    row = BreakGlassGrant.objects.get()
    assert (row.user, row.case, row.reason) == (admin, case_a, REASON)
    assert (row.granted_at, row.expires_at) == (START, START + dt.timedelta(minutes=30))
    granted = AuditEvent.objects.get(action="break_glass.granted")
    assert granted.actor_id == admin.pk and granted.committee_id == case_a.committee_id
    assert granted.after["case_id"] == case_a.pk and granted.after["reason"] == REASON

    html = page(client, case_a)
    assert DIAGNOSIS_A in html and "break-glass-notice" in html
    assert materials.can_view_files(admin, case_a)
    page(client, case_a)
    reads = AuditEvent.objects.filter(action="break_glass.read").order_by("seq")
    assert reads.count() == 2  # one entry per page view
    assert reads[0].object_id == str(case_a.pk) and reads[0].after["grant_id"] == row.pk
    assert DIAGNOSIS_A not in str(reads[0].after)  # field names only, never the content


def test_the_grant_expires_and_the_medical_content_is_hidden_again(client, admin, case_a, clock):
    client.force_login(admin)
    grant(client, case_a)
    clock.move(minutes=29, seconds=59)
    assert breakglass.can_view_medical(admin, case_a)
    assert DIAGNOSIS_A in page(client, case_a)

    clock.move(seconds=1)  # exactly at expires_at: closed
    assert not breakglass.can_view_medical(admin, case_a)
    assert not materials.can_view_files(admin, case_a)
    client.force_login(admin)  # the idle session timeout (30 min) ended the old session meanwhile
    html = page(client, case_a)
    assert DIAGNOSIS_A not in html and "break-glass-notice" not in html
    assert AuditEvent.objects.filter(action="break_glass.read").count() == 1  # nothing read after expiry


def test_the_length_comes_from_the_setting(client, admin, case_a, clock, settings):
    settings.LAOJIAN_BREAK_GLASS_MINUTES = 5
    row = breakglass.grant_create(user=admin, case_reference=str(case_a.pk), reason=REASON)
    assert row.expires_at - row.granted_at == dt.timedelta(minutes=5)
    clock.move(minutes=5)
    assert not breakglass.can_view_medical(admin, case_a)


def test_a_grant_for_case_a_does_not_open_case_b(client, admin, case_a, case_b, clock):
    client.force_login(admin)
    grant(client, case_a, reference=str(case_a.pk))  # by id works as well as by number
    assert BreakGlassGrant.objects.get().case == case_a
    assert DIAGNOSIS_A in page(client, case_a)
    html_b = page(client, case_b)
    assert DIAGNOSIS_B not in html_b and DIAGNOSIS_A not in html_b
    assert not breakglass.can_view_medical(admin, case_b)
    assert not materials.can_view_files(admin, case_b)
    assert not records.can_view(admin, case_b)
    assert records.can_view(admin, case_a)


@pytest.mark.parametrize("reason", ["", "   ", "看一下", "x" * 9])
def test_the_reason_is_required_and_long_enough(client, admin, case_a, clock, reason):
    client.force_login(admin)
    with translation.override("en"):
        response = client.post(reverse("break_glass"), {"case": case_a.number, "reason": reason},
                               HTTP_ACCEPT_LANGUAGE="en")
        errors = [str(e) for e in response.context["form"].errors["reason"]]
    assert response.status_code == 400
    assert any("reason" in e for e in errors)
    assert not BreakGlassGrant.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="break_glass").exists()
    with pytest.raises(ValidationFailed) as exc:
        breakglass.grant_create(user=admin, case_reference=case_a.number, reason=reason)
    assert exc.value.code == "break_glass_reason"


@pytest.mark.parametrize("role", ["clerk", "reviewer", "liaison", "archivist", "auditor", "security", "applicant"])
def test_no_one_else_can_break_the_glass(client, committee, case_a, clock, role):
    user = UserFactory(roles=[role], committee=committee)
    client.force_login(user)
    assert client.get(reverse("break_glass")).status_code == 404
    assert grant(client, case_a).status_code == 404
    with pytest.raises(PermissionDeniedError):
        breakglass.grant_create(user=user, case_reference=case_a.number, reason=REASON)
    assert not BreakGlassGrant.objects.exists()


def test_only_cases_the_admin_can_see_can_be_opened(client, admin, committee, clock):
    elsewhere = make_case(CommitteeFactory(), 1, DIAGNOSIS_B)
    labelled = make_case(committee, 3, DIAGNOSIS_B)
    labelled.sensitivity = Sensitivity.SENSITIVE  # the system administrator never sees labelled cases
    labelled.save(update_fields=["sensitivity"])
    client.force_login(admin)
    for case in (elsewhere, labelled):
        with translation.override("en"):
            response = client.post(reverse("break_glass"), {"case": str(case.pk), "reason": REASON},
                                   HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert response.context["form"].errors["case"] == ["No case with this number or id that you can see."]
        with pytest.raises(NotFoundError):
            breakglass.grant_create(user=admin, case_reference=case.number, reason=REASON)
    assert not BreakGlassGrant.objects.exists()


def test_a_grant_ends_when_the_admin_role_is_taken_away(admin, case_a, clock):
    breakglass.grant_create(user=admin, case_reference=case_a.number, reason=REASON)
    admin.groups.clear()
    admin = type(admin).objects.get(pk=admin.pk)  # fresh permission caches
    assert not breakglass.can_view_medical(admin, case_a)


@pytest.mark.parametrize("role", ["security", "auditor"])
def test_security_administrator_and_auditor_see_the_grants_of_their_committee(client, committee, admin, case_a,
                                                                               clock, role):
    breakglass.grant_create(user=admin, case_reference=case_a.number, reason=REASON)
    other = CommitteeFactory()
    other_case = make_case(other, 1, DIAGNOSIS_B)
    breakglass.grant_create(user=UserFactory(roles=["admin"], committee=other), case_reference=other_case.number,
                            reason="另一委员会的排查原因说明")
    client.force_login(UserFactory(roles=[role], committee=committee))
    response = client.get(reverse("break_glass_grants"))
    assert response.status_code == 200
    html = response.content.decode()
    assert REASON in html and case_a.number in html and str(admin) in html
    assert "另一委员会的排查原因说明" not in html
    assert DIAGNOSIS_A not in html


@pytest.mark.parametrize("role", ["admin", "clerk", "leader", "liaison", "applicant"])
def test_others_do_not_see_the_list_of_grants(client, committee, role):
    client.force_login(UserFactory(roles=[role], committee=committee))
    assert client.get(reverse("break_glass_grants")).status_code == 404


def test_files_and_examination_records_open_under_the_grant_and_each_read_is_audited(client, admin, case_a, clock,
                                                                                      settings, tmp_path):
    from laojian.cases.tests.test_materials import item, pdf_bytes, seed_checklists, upload

    settings.STORAGES = {**settings.STORAGES, "materials": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    seed_checklists()
    clerk = UserFactory(roles=["clerk"], committee=case_a.committee)
    material = materials.material_upload(case_a, item(case_a, "medical_records"), upload("病历.pdf", pdf_bytes()),
                                         clerk)
    download = reverse("cases:material_download", args=[case_a.pk, material.pk])
    records_page = reverse("sittings:records", args=[case_a.pk])
    client.force_login(admin)
    assert client.get(download).status_code == 404
    assert client.get(records_page).status_code == 404

    grant(client, case_a)
    assert client.get(download).status_code == 200
    assert client.get(records_page).status_code == 200
    reads = [e.after["fields"] for e in AuditEvent.objects.filter(action="break_glass.read").order_by("seq")]
    assert reads == [[f"material:{material.pk}"], ["examination_records"]]

    clock.move(minutes=30)
    client.force_login(admin)
    assert client.get(download).status_code == 404
    assert client.get(records_page).status_code == 404
