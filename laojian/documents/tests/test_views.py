"""The documents pages through the Django test client: a case's documents (issue, download,
reprint), the templates (edit, preview, versions), the public verification page, and the
conclusion letter the approval issues by itself. Each test checks one behaviour and reads the
database (or the PDF) back."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from pypdf import PdfReader

from laojian.cases.models import TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.documents import defaults, services
from laojian.documents.models import Document, Kind, Reprint, Template
from laojian.grading import services as grading_services
from laojian.grading.models import Conclusion
from laojian.grading.tests.factories import leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
NOTE = "工伤认定决定书原件"


@pytest.fixture(autouse=True)
def _english(client):
    """Messages are asserted in English."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def committee():
    return CommitteeFactory()


@pytest.fixture
def clerk(committee):
    return UserFactory(roles=["clerk"], committee=committee)


@pytest.fixture
def case(committee):
    return CaseFactory(committee=committee, number="测劳鉴〔2026〕0007号", correction_due=dt.date(2026, 12, 1),
                       determination__worker__name="张小三")


def stored_files(location: Path) -> list[Path]:
    return sorted(p for p in location.rglob("*") if p.is_file()) if location.exists() else []


def pdf_text(content: bytes) -> str:
    """The PDF's text with the line breaks and spaces the layout put in taken out."""
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def issue(client, case, kind, **data):
    return client.post(reverse("documents:issue", args=[case.pk]), {"kind": kind, **data})


def template_data(**overrides) -> dict[str, str]:
    default = defaults.DEFAULTS[Kind.CORRECTION]
    data = {"title": default.title, "recipient": default.recipient, "body": default.body,
            "number_format": "{prefix}补字〔{year}〕第{seq:04d}号"}
    data.update(overrides)
    return data


# A CASE'S DOCUMENTS -------------------------------------------------------------------------------

def test_clerk_issues_a_correction_notice_and_it_is_listed(client, case, clerk):
    client.force_login(clerk)

    response = issue(client, case, Kind.CORRECTION, note=NOTE)

    document = Document.objects.get(case=case)
    assert response.status_code == 303
    assert response.headers["Location"] == reverse("documents:case", args=[case.pk])
    assert (document.kind, document.issued_by, document.signer) == (Kind.CORRECTION, clerk, "none")
    page = client.get(reverse("documents:case", args=[case.pk])).content.decode()
    assert document.number in page
    assert reverse("documents:download", args=[case.pk, document.pk]) in page
    assert TimelineEntry.objects.filter(case=case, action="document_issued").exists()


def test_the_downloaded_notice_is_the_stored_pdf_with_the_note(client, case, clerk):
    client.force_login(clerk)
    issue(client, case, Kind.CORRECTION, note=NOTE)
    document = Document.objects.get(case=case)

    response = client.get(reverse("documents:download", args=[case.pk, document.pk]))

    content = response.content
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{Kind.CORRECTION}-{document.pk}.pdf"; ')
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert hashlib.sha256(content).hexdigest() == document.sha256
    assert NOTE in pdf_text(content)


def test_a_correction_notice_without_a_note_is_refused_and_nothing_stored(client, case, clerk, document_files):
    client.force_login(clerk)

    response = issue(client, case, Kind.CORRECTION, note="  ", appraisal_place="门诊楼三楼")

    form = response.context["issue_form"]
    assert response.status_code == 200
    assert form.errors["note"]
    assert form["appraisal_place"].value() == "门诊楼三楼"
    assert "{{ note }}" in response.content.decode()
    assert not Document.objects.exists()
    assert stored_files(document_files) == []


def test_the_appraisal_notice_prints_the_time_and_place_typed(client, case, clerk):
    client.force_login(clerk)

    issue(client, case, Kind.APPRAISAL, appraisal_when="2026年12月3日上午9:00", appraisal_place="市人民医院三楼",
          appraisal_bring="身份证原件")

    document = Document.objects.get(case=case)
    assert document.values["appraisal"] == {"when": "2026年12月3日上午9:00", "place": "市人民医院三楼",
                                            "bring": "身份证原件"}


def test_the_delivery_receipt_names_the_document_chosen(client, case, clerk):
    client.force_login(clerk)
    issue(client, case, Kind.CORRECTION, note=NOTE)
    delivered = Document.objects.get(case=case)

    issue(client, case, Kind.DELIVERY_RECEIPT, delivery=str(delivered.pk))

    receipt = Document.objects.get(case=case, kind=Kind.DELIVERY_RECEIPT)
    assert receipt.values["delivery"] == {"title": delivered.title, "number": delivered.number}


def test_documents_of_two_kinds_issued_from_the_page_both_get_a_number(client, case, clerk):
    client.force_login(clerk)
    issue(client, case, Kind.CORRECTION, note=NOTE)

    issue(client, case, Kind.REJECTION, note="不属于受理范围")

    assert Document.objects.filter(case=case).count() == 2


def test_another_committees_user_gets_404_on_the_case_documents_page(client, case):
    client.force_login(UserFactory(roles=["clerk"], committee=CommitteeFactory()))

    assert client.get(reverse("documents:case", args=[case.pk])).status_code == 404


def test_another_committees_user_gets_404_on_a_download(client, case, clerk):
    document = services.document_issue(case.pk, Kind.CORRECTION, actor=clerk, note=NOTE)
    client.force_login(UserFactory(roles=["clerk"], committee=CommitteeFactory()))

    response = client.get(reverse("documents:download", args=[case.pk, document.pk]))

    assert response.status_code == 404


def test_a_download_of_a_changed_file_gives_an_error_not_the_file(client, case, clerk, document_files):
    document = services.document_issue(case.pk, Kind.CORRECTION, actor=clerk, note=NOTE)
    path = document_files / document.file.name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    client.force_login(clerk)

    response = client.get(reverse("documents:download", args=[case.pk, document.pk]), follow=True)

    assert response.redirect_chain == [(reverse("documents:case", args=[case.pk]), 303)]
    assert response["Content-Type"].startswith("text/html")
    assert [str(m) for m in response.context["messages"]] == [
        f"The stored file of {document.number} does not match its recorded SHA-256."]


def test_a_reprint_needs_a_reason(client, case, clerk):
    document = services.document_issue(case.pk, Kind.CORRECTION, actor=clerk, note=NOTE)
    client.force_login(clerk)

    response = client.post(reverse("documents:reprint", args=[case.pk, document.pk]), {"reason": " "}, follow=True)

    assert [str(m) for m in response.context["messages"]] == ["Say why the document is printed again."]
    assert not Reprint.objects.exists()


def test_a_reprint_is_a_copy_marked_as_such_and_logged(client, case, clerk):
    document = services.document_issue(case.pk, Kind.CORRECTION, actor=clerk, note=NOTE)
    client.force_login(clerk)

    response = client.post(reverse("documents:reprint", args=[case.pk, document.pk]), {"reason": "申请人遗失原件"})

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{Kind.CORRECTION}-{document.pk}-copy.pdf"')
    assert "副本" in pdf_text(response.content)
    reprint = Reprint.objects.get(document=document)
    assert (reprint.printed_by, reprint.reason) == (clerk, "申请人遗失原件")


def test_a_user_who_may_not_reprint_is_refused(client, case, clerk):
    document = services.document_issue(case.pk, Kind.CORRECTION, actor=clerk, note=NOTE)
    client.force_login(UserFactory(roles=["auditor"], committee=case.committee))

    response = client.post(reverse("documents:reprint", args=[case.pk, document.pk]), {"reason": "查看"})

    assert response.status_code == 403
    assert not Reprint.objects.exists()


def test_the_case_page_links_to_the_documents(client, case, clerk):
    client.force_login(clerk)

    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()

    assert reverse("documents:case", args=[case.pk]) in page


# TEMPLATES ----------------------------------------------------------------------------------------

def test_the_templates_page_is_forbidden_to_a_clerk(client, clerk):
    client.force_login(clerk)

    assert client.get(reverse("documents:templates")).status_code == 403


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_the_templates_page_lists_every_document_for_a_leader_or_admin(client, committee, role):
    client.force_login(UserFactory(roles=[role], committee=committee))

    response = client.get(reverse("documents:templates"))

    assert response.status_code == 200
    assert [row["kind"] for row in response.context["rows"]] == list(Kind.values)
    assert all(row["template"].committee_id is None for row in response.context["rows"])


def test_the_edit_page_starts_from_the_version_in_force_and_lists_the_fields(client, committee):
    client.force_login(UserFactory(roles=["leader"], committee=committee))

    response = client.get(reverse("documents:template_edit", args=[Kind.CORRECTION]))

    assert response.context["form"]["title"].value() == defaults.DEFAULTS[Kind.CORRECTION].title
    assert {"tag": "{{ worker.name }}", "sample": "张三", "required": False} in response.context["fields"]
    assert response.context["required"] == ["{{ note }}", "{{ correction.due }}"]
    assert [v.version for v in response.context["versions"]] == [1]


def test_an_administrator_of_no_committee_cannot_save_a_template(client):
    client.force_login(UserFactory(roles=["admin"], committee=None))

    response = client.post(reverse("documents:template_edit", args=[Kind.CORRECTION]), {**template_data(), "save": "1"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Template.objects.filter(committee__isnull=False).count() == 0


def test_saving_a_template_with_an_unknown_field_is_refused_and_keeps_the_text(client, committee):
    client.force_login(UserFactory(roles=["leader"], committee=committee))
    body = defaults.DEFAULTS[Kind.CORRECTION].body + "\n\n{{ worker.nmae }}"

    response = client.post(reverse("documents:template_edit", args=[Kind.CORRECTION]),
                           {**template_data(body=body), "save": "1"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The template uses a field that does not exist: {{ worker.nmae }}."]
    assert response.context["form"]["body"].value() == body
    assert not Template.objects.filter(committee=committee).exists()


def test_the_saved_version_is_used_by_the_next_document(client, case, clerk):
    client.force_login(leader(case))
    url = reverse("documents:template_edit", args=[Kind.CORRECTION])

    response = client.post(url, {**template_data(title="补正材料告知书"), "save": "1"}, follow=True)

    assert [str(m) for m in response.context["messages"]][-1] == "Version 2 saved: the next correction notice uses it."
    document = services.document_issue(case.pk, Kind.CORRECTION, actor=clerk, note=NOTE)
    assert (document.template.version, document.template.committee, document.title) == (2, case.committee,
                                                                                      "补正材料告知书")
    assert re.fullmatch(rf"{re.escape(case.committee.case_number_prefix)}补字〔\d{{4}}〕第0001号", document.number)


def test_the_preview_shows_the_sample_values(client, committee):
    client.force_login(UserFactory(roles=["leader"], committee=committee))

    response = client.post(reverse("documents:template_edit", args=[Kind.CORRECTION]),
                           {**template_data(), "preview": "1"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    names = [t.name for t in response.templates]
    assert "documents/_template_preview.html" in names and "documents/template_edit.html" not in names
    assert "<html" not in body
    assert "张三" in body and "二〇二六年四月一日" in body and "（事由或材料清单）" in body
    assert f"{committee.case_number_prefix}补字〔" in body


def test_the_preview_without_javascript_shows_the_check_error_in_the_page(client, committee):
    client.force_login(UserFactory(roles=["leader"], committee=committee))

    response = client.post(reverse("documents:template_edit", args=[Kind.CORRECTION]),
                           {**template_data(body="请补正材料。"), "preview": "1"})

    assert response.context["preview"] == {"error": "This document must show {{ note }}; add it to the text."}
    assert "This document must show {{ note }}" in response.content.decode()
    assert not Template.objects.filter(committee=committee).exists()


def test_the_pdf_preview_is_rendered_from_the_sample(client, committee):
    client.force_login(UserFactory(roles=["leader"], committee=committee))

    response = client.post(reverse("documents:template_pdf", args=[Kind.CORRECTION]), template_data())

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert "（事由或材料清单）" in pdf_text(response.content)


# PUBLIC VERIFICATION ------------------------------------------------------------------------------

def test_the_verification_page_shows_the_number_and_the_masked_name_only(client, case, clerk):
    document = services.document_issue(case.pk, Kind.ACCEPTANCE, actor=clerk)

    response = client.get(reverse("documents:verify", args=[document.verify_code]))

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert document.number in body and document.sha256 in body
    assert "张*三" in body
    assert "张小三" not in body and case.worker.id_number not in body
    assert reverse("cases:detail", args=[case.pk]) not in body


def test_an_unknown_code_gives_the_not_found_page(client):
    response = client.get(reverse("documents:verify", args=["ABCDEFGHJK"]))

    assert response.status_code == 404
    assert "No document with this code" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_a_typed_code_goes_to_its_page(client):
    response = client.get(reverse("documents:verify_lookup"), {"code": " abcd-efgh23 "})

    assert response.headers["Location"] == reverse("documents:verify", args=["ABCDEFGH23"])


# THE CONCLUSION LETTER ----------------------------------------------------------------------------

def test_the_approved_conclusion_gets_its_letter_with_the_conclusion_number(settings, tmp_path,
                                                                           django_capture_on_commit_callbacks):
    from laojian.documents import signing

    settings.TASKS = IMMEDIATE
    settings.LAOJIAN_DOCUMENT_SIGNER = "pades"
    settings.LAOJIAN_SIGNING_KEY_DIR = tmp_path / "keys"
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert)

    with django_capture_on_commit_callbacks(execute=True):
        grading_services.conclusion_approve(case.pk, actor=leader(case))

    conclusion = Conclusion.objects.get(case=case)
    letter = Document.objects.get(case=case, kind=Kind.CONCLUSION)
    assert letter.number == conclusion.number
    with letter.file.open("rb") as handle:
        assert signing.validate(handle.read()).intact


# DOCUMENTS WITH MEDICAL CONTENT (issue 10, SEC-03) -----------------------------------------------


def issued(client, case, clerk, kind: str) -> Document:
    """A notice issued by the clerk, then given ``kind``: same file, the kind decides who opens it."""
    client.force_login(clerk)
    issue(client, case, Kind.CORRECTION, note=NOTE)
    document = Document.objects.get(case=case)
    Document.objects.filter(pk=document.pk).update(kind=kind)
    return document


@pytest.mark.parametrize(("role", "kind", "status"), [
    ("liaison", Kind.CONCLUSION, 404),
    ("liaison", Kind.CORRECTION, 200),
    ("archivist", Kind.CONCLUSION, 200),
])
def test_who_opens_a_document_with_medical_content(client, case, clerk, committee, role, kind, status):
    document = issued(client, case, clerk, kind)
    client.force_login(UserFactory(roles=[role], committee=committee))
    assert client.get(reverse("documents:download", args=[case.pk, document.pk])).status_code == status
