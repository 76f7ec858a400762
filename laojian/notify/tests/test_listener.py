"""The applicant's SMS after workflow steps."""

from __future__ import annotations

import logging

import pytest

from laojian.cases import services as case_services
from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.cases.workflow import TransitionEvent
from laojian.core.tests.factories import UserFactory
from laojian.notify import listeners
from laojian.notify.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(committee):
    return UserFactory(roles=["clerk"], committee=committee)


def make_case(committee, **kwargs):
    kwargs.setdefault("status", Status.SUBMITTED)
    return CaseFactory(committee=committee, year=2026, seq=7, number=committee.format_case_number(2026, 7),
                       **kwargs)


def fire(case, name, clerk, capture, note=""):
    with capture(execute=True):
        case_services.transition(case.pk, name, actor=clerk, note=note)


def test_accepting_a_case_queues_one_sms_to_the_worker(
    committee, clerk, django_capture_on_commit_callbacks, immediate_tasks, outbox_backends
):
    case = make_case(committee)
    fire(case, "accept", clerk, django_capture_on_commit_callbacks)
    (sms,) = Notification.objects.all()
    assert (sms.channel, sms.recipient, sms.template) == ("sms", "13800000000", "case.accepted")
    assert (sms.case_id, sms.committee_id) == (case.pk, committee.pk)
    assert case.number in sms.text and "受理" in sms.text and committee.name in sms.text
    assert case.determination.diagnosis not in sms.text
    assert case.determination.injured_parts not in sms.text
    assert sms.status == Notification.Status.SENT  # the immediate task backend delivered it to the outbox


def test_the_same_event_heard_twice_queues_one_sms(committee, clerk, django_capture_on_commit_callbacks):
    case = make_case(committee)
    fire(case, "accept", clerk, django_capture_on_commit_callbacks)
    event = TransitionEvent(case_id=case.pk, name="accept", from_status=Status.SUBMITTED,
                            to_status=Status.ACCEPTED, actor_id=clerk.pk, note="")
    listeners.on_transition(event)
    assert Notification.objects.count() == 1


def test_correction_notice_lists_what_is_missing(committee, clerk, django_capture_on_commit_callbacks):
    case = make_case(committee)
    fire(case, "request_correction", clerk, django_capture_on_commit_callbacks, note="工伤认定决定书原件；身份证复印件")
    (sms,) = Notification.objects.all()
    assert "工伤认定决定书原件；身份证复印件" in sms.text
    fire(case, "resubmit", UserFactory(roles=["clerk"], committee=committee), django_capture_on_commit_callbacks)
    fire(case, "reject", clerk, django_capture_on_commit_callbacks, note="未提供工伤认定决定书")
    assert list(Notification.objects.order_by("id").values_list("template", flat=True)) == [
        "case.correction_requested", "case.resubmitted", "case.rejected"
    ]
    assert "未提供工伤认定决定书" in Notification.objects.get(template="case.rejected").text


def test_the_applicant_account_phone_wins(committee, clerk, django_capture_on_commit_callbacks):
    applicant = UserFactory(roles=["applicant"], committee=None, phone="13900001111")
    case = make_case(committee, applicant_user=applicant)
    fire(case, "accept", clerk, django_capture_on_commit_callbacks)
    assert Notification.objects.get().recipient == "13900001111"


def test_no_phone_no_sms_and_the_log_says_why(committee, clerk, django_capture_on_commit_callbacks, caplog):
    caplog.set_level(logging.INFO, logger="laojian.notify")
    case = make_case(committee, applicant_kind="employer")
    fire(case, "accept", clerk, django_capture_on_commit_callbacks)
    assert not Notification.objects.exists()
    assert f"no SMS for case {case.pk} step accept" in caplog.text


def test_steps_that_do_not_concern_the_applicant_send_nothing(committee, django_capture_on_commit_callbacks):
    reviewer = UserFactory(roles=["reviewer"], committee=committee)
    case = make_case(committee, status=Status.ACCEPTED)
    fire(case, "pass_review", reviewer, django_capture_on_commit_callbacks)
    assert not Notification.objects.exists()


def test_a_failing_listener_does_not_break_the_step(committee, clerk, django_capture_on_commit_callbacks,
                                                    monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(listeners.services, "send", boom)
    case = make_case(committee)
    fire(case, "accept", clerk, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    assert "could not queue the SMS" in caplog.text


def test_every_step_template_renders_without_medical_fields():
    from laojian.notify import services

    for code, _sms in listeners.STEP_TEMPLATES.values():
        text, _subject, _body = services.render(code, {
            "committee": "聊城市劳动能力鉴定委员会", "number": "聊劳鉴〔2026〕0007号", "date": "2026年12月1日",
            "note": "缺少病历", "workdays": 5, "conclusion_due": "2027年3月1日", "reappraisal_days": 15,
        })
        assert "聊劳鉴〔2026〕0007号" in text and "{{" not in text


def test_an_employer_registered_at_the_counter_gets_sms_on_the_phone_given():
    from laojian.notify.listeners import applicant_phone

    case = CaseFactory(applicant_kind="employer", applicant_phone="13700001111")
    assert applicant_phone(case) == ("13700001111", "")
