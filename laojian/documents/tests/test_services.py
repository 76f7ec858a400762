"""Issuing documents: the right document after each step, numbers, values, templates, integrity."""

import datetime as dt
import threading

import pytest
from django.db import connection
from pypdf import PdfReader

from laojian.cases import services as case_services
from laojian.cases.models import CaseType, Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import ApplicationError, ConflictError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory
from laojian.documents import defaults, services, signing, values
from laojian.documents.models import Document, Kind, Reprint, Template
from laojian.documents.selectors import template_for, verification
from laojian.documents.tests.conftest import IMMEDIATE
from laojian.grading import services as grading_services
from laojian.grading.tests.factories import leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 16)


def text_of(document: Document) -> str:
    with document.file.open("rb") as handle:
        reader = PdfReader(handle)
        return "".join("".join(page.extract_text().split()) for page in reader.pages)


def clerk_of(case):
    return UserFactory(committee=case.committee, roles=["clerk"])


def test_every_document_has_a_default_template_whose_fields_exist():
    for kind in Kind.values:
        template = Template.objects.get(committee=None, kind=kind, version=1)
        values.check(kind, template.title, template.recipient, template.body)  # raises if a field is unknown


def test_loading_the_defaults_twice_adds_nothing():
    assert defaults.ensure_defaults() == 0


def test_a_correction_notice_prints_the_note_and_the_deadline(document_files):
    case = CaseFactory(status=Status.CORRECTION_REQUESTED, correction_due=dt.date(2026, 12, 16))
    document = services.document_issue(case.pk, Kind.CORRECTION, actor=clerk_of(case), note="工伤认定决定书原件",
                                       today=TODAY)
    text = text_of(document)
    assert "补正材料通知书" in text and "工伤认定决定书原件" in text and "二〇二六年十二月十六日" in text
    assert document.number == f"{case.committee.case_number_prefix}补字〔2026〕第0001号"


def test_numbers_count_per_document_kind_and_year(document_files):
    case = CaseFactory(status=Status.SUBMITTED)
    clerk = clerk_of(case)
    prefix = case.committee.case_number_prefix
    first = services.document_issue(case.pk, Kind.REJECTION, actor=clerk, note="不属于受理范围", today=TODAY)
    second = services.document_issue(case.pk, Kind.REJECTION, actor=clerk, note="不属于受理范围", today=TODAY)
    other = services.document_issue(case.pk, Kind.TERMINATION, actor=clerk, note="无正当理由不参加鉴定", today=TODAY)
    assert [first.number, second.number, other.number] == [
        f"{prefix}不受字〔2026〕第0001号", f"{prefix}不受字〔2026〕第0002号", f"{prefix}终字〔2026〕第0001号"]


def test_a_document_missing_a_required_value_is_refused_and_nothing_is_stored(document_files):
    case = CaseFactory(status=Status.SUBMITTED)
    with pytest.raises(ValidationFailed) as exc:
        services.document_issue(case.pk, Kind.REJECTION, actor=clerk_of(case), note="  ", today=TODAY)
    assert exc.value.code == "value_missing"
    assert not Document.objects.exists()
    assert not any(document_files.rglob("*.pdf")) if document_files.exists() else True


def test_an_expert_cannot_issue_documents(document_files):
    case = CaseFactory(status=Status.SUBMITTED)
    expert = UserFactory(committee=None, roles=["expert"])
    with pytest.raises(PermissionDeniedError):
        services.document_issue(case.pk, Kind.ACCEPTANCE, actor=expert)


def test_the_stored_file_is_checked_against_its_sha256(document_files):
    case = CaseFactory(status=Status.ACCEPTED, accepted_on=TODAY)
    clerk = clerk_of(case)
    document = services.document_issue(case.pk, Kind.ACCEPTANCE, actor=clerk, today=TODAY)
    assert services.document_read(document, actor=clerk)[:5] == b"%PDF-"
    path = document_files / document.file.name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ApplicationError) as exc:
        services.document_read(document, actor=clerk)
    assert exc.value.code == "tampered"


def test_a_reprint_is_marked_as_a_copy_and_logged(document_files):
    case = CaseFactory(status=Status.ACCEPTED, accepted_on=TODAY)
    clerk = clerk_of(case)
    document = services.document_issue(case.pk, Kind.ACCEPTANCE, actor=clerk, today=TODAY)
    with pytest.raises(ValidationFailed):
        services.document_reprint(document.pk, actor=clerk, reason=" ")
    copy = services.document_reprint(document.pk, actor=clerk, reason="申请人遗失")
    from io import BytesIO
    assert "副本" in "".join(PdfReader(BytesIO(copy)).pages[0].extract_text().split())
    assert Reprint.objects.get(document=document).reason == "申请人遗失"
    assert AuditEvent.objects.filter(action="document.reprint").count() == 1


def test_the_verification_shows_a_masked_name_only(document_files):
    case = CaseFactory(status=Status.ACCEPTED, accepted_on=TODAY, determination__worker__name="张小三")
    document = services.document_issue(case.pk, Kind.ACCEPTANCE, actor=clerk_of(case), today=TODAY)
    seen = verification(document.verify_code.lower())
    assert (seen.number, seen.worker, seen.sha256) == (document.number, "张*三", document.sha256)
    assert case.worker.id_number not in str(seen)


def test_accepting_a_case_issues_the_acceptance_notice(document_files, settings, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    case = CaseFactory(status=Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.transition(case.pk, "accept", actor=clerk_of(case))
    assert Document.objects.get(case=case).kind == Kind.ACCEPTANCE


def test_a_step_replayed_with_an_earlier_date_issues_nothing(document_files, settings,
                                                              django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    case = CaseFactory(status=Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.transition(case.pk, "accept", actor=clerk_of(case), today=dt.date(2025, 3, 3),
                             at=dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC))
    assert not Document.objects.filter(case=case).exists()


def test_approving_a_conclusion_issues_the_signed_conclusion_letter(document_files, settings, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    settings.LAOJIAN_DOCUMENT_SIGNER = "pades"
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert, ["5.7.2(47)"])
    with django_capture_on_commit_callbacks(execute=True):
        conclusion = grading_services.conclusion_approve(case.pk, actor=leader(case))
    letter = Document.objects.get(case=case)
    assert (letter.kind, letter.number) == (Kind.CONCLUSION, conclusion.number)
    text = text_of(letter)
    assert "劳动能力鉴定结论书" in text and "7级" in text and "5.7.2(47)" in text
    with letter.file.open("rb") as handle:
        check = signing.validate(handle.read())
    assert check.signed and check.intact and check.signer == case.committee.name


def test_a_leave_case_gets_the_period_confirmation(document_files, settings, django_capture_on_commit_callbacks):
    settings.TASKS = IMMEDIATE
    case, experts = panel_case(case_type=CaseType.LEAVE_EXTENSION, experts=1)
    signed_opinion(case, experts[0], [], months=6, prior_months=12, diagnoses=["S62.0"],
                   period_reasons="骨折延迟愈合，仍需治疗")
    with django_capture_on_commit_callbacks(execute=True):
        grading_services.conclusion_approve(case.pk, actor=leader(case))
    letter = Document.objects.get(case=case)
    assert letter.kind == Kind.PERIOD
    assert "停工留薪期确认书" in text_of(letter) and "6个月" in text_of(letter)


def test_a_template_naming_an_unknown_field_is_refused():
    case = CaseFactory()
    admin = UserFactory(committee=case.committee, roles=["leader"])
    with pytest.raises(ValidationFailed) as exc:
        services.template_save(case.committee, Kind.ACCEPTANCE, actor=admin, title="受理通知书", recipient="",
                               body="{{ worker.nmae }}", number_format="{prefix}字〔{year}〕第{seq:04d}号")
    assert exc.value.code == "unknown_field"
    assert not Template.objects.filter(committee=case.committee).exists()


def test_a_template_lacking_a_required_field_is_refused():
    case = CaseFactory()
    admin = UserFactory(committee=case.committee, roles=["leader"])
    with pytest.raises(ValidationFailed) as exc:
        services.template_save(case.committee, Kind.CORRECTION, actor=admin, title="补正材料通知书", recipient="",
                               body="请补正。", number_format="{prefix}字〔{year}〕第{seq:04d}号")
    assert exc.value.code == "missing_field"


def test_a_saved_template_is_the_next_version_and_is_used(document_files):
    case = CaseFactory(status=Status.ACCEPTED, accepted_on=TODAY)
    admin = UserFactory(committee=case.committee, roles=["leader"])
    saved = services.template_save(case.committee, Kind.ACCEPTANCE, actor=admin, title="受理通知书",
                                   recipient="{{ applicant.name }}：", body="你的申请已受理，编号{{ case.number }}。",
                                   number_format="{prefix}受字〔{year}〕{seq}号")
    assert (saved.version, template_for(case.committee, Kind.ACCEPTANCE)) == (2, saved)  # after the default's 1
    document = services.document_issue(case.pk, Kind.ACCEPTANCE, actor=clerk_of(case), today=TODAY)
    assert document.template == saved and document.number.endswith("受字〔2026〕1号")


@pytest.mark.django_db(transaction=True)
def test_numbers_stay_unique_when_two_clerks_issue_at_once(document_files):
    case = CaseFactory(status=Status.SUBMITTED)
    clerks = [clerk_of(case) for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def issue(i: int) -> None:
        try:
            barrier.wait()
            results[i] = services.document_issue(case.pk, Kind.REJECTION, actor=clerks[i], note="不属于受理范围",
                                                 today=TODAY).number
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 2


def test_a_template_saved_over_a_newer_version_is_refused_and_the_newer_one_stays():
    case = CaseFactory(status=Status.ACCEPTED, accepted_on=TODAY)
    first, second = (UserFactory(committee=case.committee, roles=["leader"]) for _ in range(2))
    wording = {"recipient": "{{ applicant.name }}：", "body": "你的申请已受理，编号{{ case.number }}。",
               "number_format": "{prefix}受字〔{year}〕{seq}号"}
    theirs = services.template_save(case.committee, Kind.ACCEPTANCE, actor=first, title="受理通知书", based_on=1,
                                    **wording)
    with pytest.raises(ConflictError) as refused:
        services.template_save(case.committee, Kind.ACCEPTANCE, actor=second, title="受理告知书", based_on=1, **wording)
    assert refused.value.code == "stale_version"
    assert template_for(case.committee, Kind.ACCEPTANCE) == theirs


def test_a_template_saved_against_the_version_in_force_is_the_next_version():
    case = CaseFactory(status=Status.ACCEPTED, accepted_on=TODAY)
    admin = UserFactory(committee=case.committee, roles=["leader"])
    saved = services.template_save(case.committee, Kind.ACCEPTANCE, actor=admin, title="受理通知书", based_on=1,
                                   recipient="", body="你的申请已受理，编号{{ case.number }}。",
                                   number_format="{prefix}受字〔{year}〕{seq}号")
    assert saved.version == 2
