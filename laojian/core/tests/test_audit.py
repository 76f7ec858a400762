"""The audit trail: hash chain, append-only enforcement, verification, sign-in events."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from laojian.core import audit, signals
from laojian.core.audit import BrokenEntry, ChainReport
from laojian.core.models import AuditChainHead, AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
append_only_migration = importlib.import_module("laojian.core.migrations.0002_audit_append_only")


def disable_append_only_trigger() -> None:
    """Let a test play the attacker with direct database access. Rolled back with the test."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in append_only_migration.SQLITE_REMOVE:
                cursor.execute(statement)
        else:
            # Django's foreign keys are deferred; ALTER TABLE refuses while their checks are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def raw_sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def three_entries(committee) -> list[AuditEvent]:
    return [
        audit.record("case_created", committee=committee, after={"number": "聊劳鉴〔2026〕0001号"}),
        audit.record(
            "case_accepted", committee=committee, before={"state": "submitted"}, after={"state": "accepted"}
        ),
        audit.record(
            "case_reviewed", committee=committee, before={"state": "accepted"}, after={"state": "reviewed"}
        ),
    ]


@pytest.fixture
def committee():
    return CommitteeFactory()


def _connected_for_this_test(connect, disconnect):
    """Connect receivers for one test, then leave them as they were (wired by CoreConfig or not)."""
    was_connected = disconnect()
    connect()
    yield
    disconnect()
    if was_connected:
        connect()


@pytest.fixture
def auth_signals():
    yield from _connected_for_this_test(signals.connect_auth_signals, signals.disconnect_auth_signals)


@pytest.fixture
def audit_guards():
    yield from _connected_for_this_test(signals.connect_audit_guards, signals.disconnect_audit_guards)


# CHAINING ---------------------------------------------------------------------------------------------


def test_entries_are_numbered_one_two_three_within_their_chain(committee):
    entries = three_entries(committee)
    assert [event.seq for event in entries] == [1, 2, 3]


def test_each_entry_links_to_the_hash_of_the_one_before(committee):
    first, second, third = three_entries(committee)
    assert (first.prev_hash, second.prev_hash, third.prev_hash) == ("", first.hash, second.hash)


def test_the_chain_head_holds_the_last_sequence_number_and_hash(committee):
    *_, last = three_entries(committee)
    head = AuditChainHead.objects.get(chain=f"committee:{committee.pk}")
    assert (head.last_seq, head.last_hash) == (3, last.hash)


def test_each_committee_has_its_own_chain():
    one, other = CommitteeFactory(), CommitteeFactory()
    audit.record("a", committee=one)
    audit.record("b", committee=one)
    event = audit.record("c", committee=other)
    assert (event.chain, event.seq, event.prev_hash) == (f"committee:{other.pk}", 1, "")


def test_an_entry_without_committee_goes_to_the_system_chain():
    event = audit.record("calendar_imported")
    assert (event.chain, event.committee_id) == ("system", None)


def test_an_object_with_a_committee_chooses_the_chain_and_names_itself():
    user = UserFactory()
    event = audit.record("user_changed", obj=user)
    assert (event.chain, event.committee_id, event.object_type, event.object_id) == (
        f"committee:{user.committee_id}",
        user.committee_id,
        "core.user",
        str(user.pk),
    )


def test_the_actor_is_stored_with_a_readable_label():
    user = UserFactory(display_name="王经办")
    event = audit.record("case_accepted", actor=user)
    assert (event.actor_id, event.actor_label) == (user.pk, "王经办")


def test_record_read_stores_the_field_names_and_not_the_values():
    clerk, worker = UserFactory(), UserFactory(phone="13812341234")
    event = audit.record_read(clerk, worker, ["phone"], ip_address="10.0.0.7")
    assert (event.action, event.actor_id, event.object_id, event.after, event.ip_address) == (
        "read_sensitive",
        clerk.pk,
        str(worker.pk),
        {"fields": ["phone"]},
        "10.0.0.7",
    )


def test_changes_keeps_only_the_keys_that_differ():
    before = {"state": "submitted", "grade": 7, "clerk": "王", "note": "x"}
    after = {"state": "accepted", "grade": 7, "clerk": "王", "extension": True}
    assert audit.changes(before, after) == (
        {"state": "submitted", "note": "x"},
        {"state": "accepted", "extension": True},
    )


# VERIFYING ------------------------------------------------------------------------------------------


def test_an_untouched_chain_verifies(committee):
    three_entries(committee)
    assert audit.verify() == [ChainReport(f"committee:{committee.pk}", 3, True)]


def test_dates_decimals_and_chinese_text_verify_after_a_round_trip_through_the_database(committee):
    event = audit.record(
        "allowance_set",
        committee=committee,
        before={
            "decided_on": dt.date(2026, 3, 2),
            "allowance": Decimal("3560.50"),
            "diagnosis": "左股骨干骨折",
        },
        after={"examined_at": dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC), "z": 1, "a": {"乙": 2, "甲": 1}},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.before, stored.after, audit.verify(event.chain)) == (
        {"decided_on": "2026-03-02", "allowance": "3560.50", "diagnosis": "左股骨干骨折"},
        {"examined_at": "2026-03-01T09:30:00Z", "z": 1, "a": {"乙": 2, "甲": 1}},
        [ChainReport(event.chain, 1, True)],
    )


def test_floats_verify_after_a_round_trip_through_the_database(committee):
    # PostgreSQL's jsonb gives 1e20 and 1.5e300 back as ints and 1e-07 as 0.0000001.
    event = audit.record(
        "ratios",
        committee=committee,
        after={"big": 1e20, "huge": 1.5e300, "tiny": 1e-7, "tenth": 0.1, "one": 1.0},
    )
    assert audit.verify(event.chain) == [ChainReport(event.chain, 1, True)]


def test_not_a_number_is_refused():
    with pytest.raises(ValueError):
        audit.record("bad", after={"ratio": float("nan")})


def test_a_changed_entry_is_named_by_verify(committee):
    first, second, third = three_entries(committee)
    disable_append_only_trigger()
    raw_sql("UPDATE core_auditevent SET after = %s WHERE id = %s", ['{"state": "rejected"}', second.pk])
    assert audit.verify(second.chain) == [
        ChainReport(second.chain, 2, False, BrokenEntry(second.pk, 2, "case_accepted"), audit.HASH_MISMATCH)
    ]


def test_a_rewritten_entry_with_a_recomputed_hash_breaks_the_link_to_the_next(committee):
    first, second, third = three_entries(committee)
    second.after = {"state": "rejected"}
    forged = audit.compute_hash(second)
    disable_append_only_trigger()
    raw_sql(
        "UPDATE core_auditevent SET after = %s, hash = %s WHERE id = %s",
        ['{"state": "rejected"}', forged, second.pk],
    )
    assert audit.verify(third.chain) == [
        ChainReport(third.chain, 3, False, BrokenEntry(third.pk, 3, "case_reviewed"), audit.LINK_BROKEN)
    ]


def test_a_deleted_entry_shows_as_a_sequence_gap(committee):
    first, second, third = three_entries(committee)
    disable_append_only_trigger()
    raw_sql("DELETE FROM core_auditevent WHERE id = %s", [second.pk])
    assert audit.verify(third.chain) == [
        ChainReport(third.chain, 2, False, BrokenEntry(third.pk, 3, "case_reviewed"), audit.SEQUENCE_GAP)
    ]


def test_a_deleted_last_entry_shows_as_a_head_mismatch(committee):
    first, second, third = three_entries(committee)
    disable_append_only_trigger()
    raw_sql("DELETE FROM core_auditevent WHERE id = %s", [third.pk])
    assert audit.verify(third.chain) == [ChainReport(third.chain, 2, False, None, audit.HEAD_MISMATCH)]


def test_an_entry_slipped_in_past_the_head_shows_as_a_head_mismatch(committee):
    *_, last = three_entries(committee)
    raw_sql(
        "INSERT INTO core_auditevent (chain, seq, at, actor_label, action, object_type, object_id,"
        " ip_address, prev_hash, hash) VALUES (%s, 4, %s, '', 'forged', '', '', '', %s, %s)",
        [last.chain, last.at, last.hash, "0" * 64],
    )
    assert audit.verify(last.chain) == [ChainReport(last.chain, 3, False, None, audit.HEAD_MISMATCH)]


# APPEND-ONLY -------------------------------------------------------------------------------------------


def test_the_database_refuses_a_raw_update(committee):
    first, *_ = three_entries(committee)
    with pytest.raises(IntegrityError, match="audit trail is append-only"), transaction.atomic():
        raw_sql("UPDATE core_auditevent SET action = %s WHERE id = %s", ["nothing_happened", first.pk])


def test_the_database_refuses_a_raw_delete(committee):
    first, *_ = three_entries(committee)
    with pytest.raises(IntegrityError, match="audit trail is append-only"), transaction.atomic():
        raw_sql("DELETE FROM core_auditevent WHERE id = %s", [first.pk])


def test_the_database_refuses_a_queryset_update_which_sends_no_signal(committee):
    first, *_ = three_entries(committee)
    with pytest.raises(IntegrityError, match="audit trail is append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=first.pk).update(action="nothing_happened")


def test_saving_a_stored_entry_again_is_refused_in_python(committee, audit_guards):
    first, *_ = three_entries(committee)
    first.action = "nothing_happened"
    with pytest.raises(audit.AppendOnlyError):
        first.save()


def test_deleting_entries_through_the_orm_is_refused_in_python(committee, audit_guards):
    three_entries(committee)
    with pytest.raises(audit.AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_recording_only_inserts_into_the_audit_table(committee):
    audit.record("case_created", committee=committee)
    with CaptureQueriesContext(connection) as queries:
        audit.record("case_accepted", committee=committee)
    touching = [
        q["sql"].split()[0].upper() for q in queries.captured_queries if "core_auditevent" in q["sql"]
    ]
    assert touching == ["INSERT"]


# COMMAND ------------------------------------------------------------------------------------------------


def test_the_command_reports_ok_per_chain(committee):
    three_entries(committee)
    out = StringIO()
    with translation.override("en"):
        call_command("audit", "verify", stdout=out)
    assert out.getvalue() == f"committee:{committee.pk}: OK, 3 entries\n"


def test_the_command_fails_and_names_the_changed_entry(committee):
    first, second, third = three_entries(committee)
    disable_append_only_trigger()
    raw_sql("UPDATE core_auditevent SET after = %s WHERE id = %s", ['{"state": "rejected"}', second.pk])
    out = StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="1 audit chain is broken"):
        call_command("audit", "verify", "--chain", second.chain, stdout=out, no_color=True)
    assert out.getvalue() == (
        f"{second.chain}: BROKEN at entry id {second.pk} (sequence 2, action case_accepted): "
        "hash mismatch: the entry was changed after it was written\n"
    )


def test_the_command_refuses_an_unknown_chain():
    with translation.override("en"), pytest.raises(CommandError, match="no audit chain called committee:999"):
        call_command("audit", "verify", "--chain", "committee:999", stdout=StringIO())


# SIGN-IN EVENTS -------------------------------------------------------------------------------------------


def test_a_sign_in_is_recorded_in_the_users_committee_chain(client, auth_signals):
    user = UserFactory(username="clerk1")
    client.login(username="clerk1", password=PASSWORD)
    event = AuditEvent.objects.get(action="login")
    assert (event.actor_id, event.chain) == (user.pk, f"committee:{user.committee_id}")


def test_a_sign_out_is_recorded(client, auth_signals):
    user = UserFactory(username="clerk1")
    client.force_login(user)
    client.post("/logout/")
    assert list(AuditEvent.objects.filter(action="logout").values_list("actor_id", flat=True)) == [user.pk]


def test_a_failed_sign_in_records_the_attempted_name_and_not_the_password(client, auth_signals):
    UserFactory(username="clerk1")
    client.post("/login/", {"username": "clerk1", "password": "wrong-guess-123"}, REMOTE_ADDR="203.0.113.9")
    event = AuditEvent.objects.get(action="login_failed")
    stored = [str(value) for value in AuditEvent.objects.filter(pk=event.pk).values().get().values()]
    assert (
        event.after,
        event.ip_address,
        event.actor_id,
        any("wrong-guess" in value for value in stored),
    ) == (
        {"username": "clerk1"},
        "203.0.113.9",
        None,
        False,
    )


# CLIENT ADDRESS ------------------------------------------------------------------------------------------


def test_client_ip_ignores_x_forwarded_for_by_default():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert audit.client_ip(request) == "10.0.0.2"


def test_client_ip_takes_the_address_our_proxy_appended_when_trusted(settings):
    settings.LAOJIAN_TRUST_X_FORWARDED_FOR = True
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1")
    assert audit.client_ip(request) == "198.51.100.1"


# CONCURRENCY ----------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain():
    committee = CommitteeFactory()
    threads, per_thread = 4, 10
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(per_thread):
                audit.record("concurrent", committee=committee, after={"worker": worker, "n": n})
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=append, args=(worker,)) for worker in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    chain = f"committee:{committee.pk}"
    seqs = list(AuditEvent.objects.filter(chain=chain).order_by("seq").values_list("seq", flat=True))
    assert (errors, seqs, audit.verify(chain)) == (
        [],
        list(range(1, threads * per_thread + 1)),
        [ChainReport(chain, threads * per_thread, True)],
    )
