"""Delivery (送达): sending, the proof of receipt, the re-appraisal window, the reminders."""

import datetime as dt
import io

import pytest
from PIL import Image

from laojian.cases.models import CaseAssignment, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import PermissionDeniedError, ValidationFailed
from laojian.core.tests.factories import UserFactory
from laojian.documents import delivery, services
from laojian.documents.models import Delivery, Kind
from laojian.grading import services as grading_services
from laojian.grading.tests.factories import leader, panel_case, signed_opinion
from laojian.notify.models import Notification

pytestmark = pytest.mark.django_db
CONCLUDED = dt.date(2026, 11, 2)


def scan() -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(buffer, "PNG")
    buffer.seek(0)
    return buffer


@pytest.fixture
def concluded():
    """A concluded case with its conclusion letter issued; returns (case, letter, clerk)."""
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert, ["5.10.2(12)"])
    boss = leader(case)
    grading_services.conclusion_approve(case.pk, actor=boss)
    case.refresh_from_db()
    clerk = UserFactory(committee=case.committee, roles=["clerk"], phone="13900000001")
    letter = services.document_issue(case.pk, Kind.CONCLUSION, actor=boss, today=case.concluded_on)
    return case, letter, clerk


def send(letter, clerk, **kwargs):
    values = {"method": Delivery.Method.POST, "recipient": "张三", "sent_on": letter.issued_on,
              "tracking_number": "EMS1234567890CN", "today": letter.issued_on + dt.timedelta(days=3)}
    values.update(kwargs)
    return delivery.delivery_send(letter.pk, actor=clerk, **values)


def test_registered_post_needs_its_tracking_number(concluded):
    case, letter, clerk = concluded
    with pytest.raises(ValidationFailed) as exc:
        send(letter, clerk, tracking_number=" ")
    assert exc.value.code == "tracking_number"
    assert not Delivery.objects.exists()


def test_a_document_cannot_be_sent_before_it_was_issued(concluded):
    case, letter, clerk = concluded
    with pytest.raises(ValidationFailed) as exc:
        send(letter, clerk, sent_on=letter.issued_on - dt.timedelta(days=1))
    assert exc.value.code == "date_too_early"


def test_a_document_cannot_be_sent_in_the_future(concluded):
    case, letter, clerk = concluded
    with pytest.raises(ValidationFailed) as exc:
        send(letter, clerk, sent_on=letter.issued_on + dt.timedelta(days=9))
    assert exc.value.code == "date_in_future"


def test_the_receipt_of_the_conclusion_letter_delivers_the_case_from_the_day_of_receipt(concluded):
    case, letter, clerk = concluded
    sent = send(letter, clerk)
    received = letter.issued_on + dt.timedelta(days=2)
    delivery.delivery_receive(sent.pk, actor=clerk, received_on=received, receipt=scan(), receipt_name="回证.png",
                              today=received + dt.timedelta(days=1))
    case.refresh_from_db()
    assert (case.status, case.delivered_on) == (Status.DELIVERED, received)
    assert case.reappraisal_window_ends == received + dt.timedelta(days=case.committee.reappraisal_window_days)
    sent.refresh_from_db()
    assert sent.receipt and len(sent.receipt_sha256) == 64


def test_a_receipt_before_the_sending_date_is_refused_and_changes_nothing(concluded):
    case, letter, clerk = concluded
    sent = send(letter, clerk, sent_on=letter.issued_on + dt.timedelta(days=1))
    with pytest.raises(ValidationFailed) as exc:
        delivery.delivery_receive(sent.pk, actor=clerk, received_on=letter.issued_on, receipt=scan(),
                                  today=letter.issued_on + dt.timedelta(days=3))
    assert exc.value.code == "date_too_early"
    case.refresh_from_db()
    assert case.status == Status.CONCLUDED
    sent.refresh_from_db()
    assert sent.received_on is None and not sent.receipt


def test_a_posted_letter_needs_the_signed_receipt(concluded):
    case, letter, clerk = concluded
    sent = send(letter, clerk)
    with pytest.raises(ValidationFailed) as exc:
        delivery.delivery_receive(sent.pk, actor=clerk, received_on=letter.issued_on, confirmation="已签收",
                                  today=letter.issued_on)
    assert exc.value.code == "proof_missing"


def test_an_electronic_delivery_is_proved_by_its_confirmation(concluded):
    case, letter, clerk = concluded
    sent = send(letter, clerk, method=Delivery.Method.ELECTRONIC, tracking_number="")
    delivery.delivery_receive(sent.pk, actor=clerk, received_on=letter.issued_on, confirmation="电子送达回执 20261102-01",
                              today=letter.issued_on)
    case.refresh_from_db()
    assert case.status == Status.DELIVERED


def test_the_agency_copy_does_not_deliver_the_case(concluded):
    case, letter, clerk = concluded
    copy = send(letter, clerk, recipient="社会保险经办机构", to_agency=True, method=Delivery.Method.IN_PERSON,
                tracking_number="")
    delivery.delivery_receive(copy.pk, actor=clerk, received_on=letter.issued_on, receipt=scan(),
                              today=letter.issued_on)
    case.refresh_from_db()
    assert case.status == Status.CONCLUDED


def test_a_receipt_is_recorded_once(concluded):
    case, letter, clerk = concluded
    sent = send(letter, clerk, method=Delivery.Method.ELECTRONIC, tracking_number="")
    day = letter.issued_on
    delivery.delivery_receive(sent.pk, actor=clerk, received_on=day, confirmation="回执", today=day)
    with pytest.raises(ValidationFailed) as exc:
        delivery.delivery_receive(sent.pk, actor=clerk, received_on=day, confirmation="回执", today=day)
    assert exc.value.code == "already_received"


def test_a_reviewer_cannot_record_deliveries(concluded):
    case, letter, clerk = concluded
    with pytest.raises(PermissionDeniedError):
        send(letter, UserFactory(committee=case.committee, roles=["reviewer"]))


def test_clerks_are_reminded_once_as_the_delivery_deadline_nears():
    case = CaseFactory(status=Status.CONCLUDED, concluded_on=CONCLUDED, delivery_due=CONCLUDED + dt.timedelta(days=20),
                       number="测劳鉴〔2026〕0031号")
    clerk = UserFactory(committee=case.committee, roles=["clerk"], phone="13900000002")
    CaseAssignment.objects.create(case=case, user=clerk, role=CaseAssignment.Role.CLERK)
    early = case.delivery_due - dt.timedelta(days=case.committee.risk_warning_days + 1)
    assert delivery.delivery_reminders(today=early) == 0
    near = case.delivery_due - dt.timedelta(days=2)
    delivery.delivery_reminders(today=near)
    delivery.delivery_reminders(today=near)
    reminders = Notification.objects.filter(case_id=case.pk, template=delivery.REMINDER_TEMPLATE)
    assert reminders.count() == 1
    assert case.number in reminders.get().text and reminders.get().recipient == "13900000002"


def test_a_delivered_case_gets_no_reminder():
    case = CaseFactory(status=Status.DELIVERED, concluded_on=CONCLUDED, delivery_due=CONCLUDED + dt.timedelta(days=20))
    UserFactory(committee=case.committee, roles=["clerk"], phone="13900000003")
    assert delivery.delivery_reminders(today=case.delivery_due) == 0


def test_the_reminder_command_says_how_many_were_queued():
    from django.core.management import call_command

    case = CaseFactory(status=Status.CONCLUDED, concluded_on=CONCLUDED, delivery_due=CONCLUDED + dt.timedelta(days=20),
                       number="测劳鉴〔2026〕0032号")
    UserFactory(committee=case.committee, roles=["clerk"], phone="13900000004")
    out = io.StringIO()
    call_command("documents", "remind-delivery", "--today", (case.delivery_due - dt.timedelta(days=1)).isoformat(),
                 stdout=out)
    assert out.getvalue().split()[0] == "1"
