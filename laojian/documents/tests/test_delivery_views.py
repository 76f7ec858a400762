"""Delivery (送达) on a case's documents page through the Django test client: recording the sending
and the receipt, what is refused (and that nothing is stored then), the case delivered by the
applicant's receipt of the conclusion letter, the receipt scan's download, and who may do what.
Each test checks one behaviour and reads the database back."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfWriter

from laojian.cases import clocks
from laojian.cases.models import Status
from laojian.cases.tests.factories import CaseFactory
from laojian.core.models import AuditEvent
from laojian.core.sealed_storage import seal_bytes
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.documents import delivery as delivery_services
from laojian.documents import services
from laojian.documents.forms import AGENCY_RECIPIENT
from laojian.documents.models import Delivery, Document, Kind
from laojian.grading import services as grading_services
from laojian.grading.tests.factories import leader, panel_case, signed_opinion

pytestmark = pytest.mark.django_db

NOTE = "工伤认定决定书原件"
TRACKING = "1150123456789"


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


@pytest.fixture
def notice(case, clerk) -> Document:
    return services.document_issue(case.pk, Kind.CORRECTION, actor=clerk, note=NOTE)


@pytest.fixture
def concluded():
    """A concluded case, its conclusion letter (issued by the leader) and the committee's clerk."""
    case, experts = panel_case()
    for expert in experts:
        signed_opinion(case, expert)
    boss = leader(case)
    grading_services.conclusion_approve(case.pk, actor=boss)
    letter = services.document_issue(case.pk, Kind.CONCLUSION, actor=boss)
    case.refresh_from_db()
    return case, letter, UserFactory(roles=["clerk"], committee=case.committee)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 200, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def send(client, case, document, **data):
    payload = {"method": Delivery.Method.POST, "recipient": "张小三", "tracking_number": TRACKING,
               "sent_on": clocks.today().isoformat()}
    payload.update(data)
    payload = {k: v for k, v in payload.items() if v is not None}
    return client.post(reverse("documents:delivery_send", args=[case.pk, document.pk]), payload)


def receive(client, case, delivery, **data):
    payload = {"received_on": clocks.today().isoformat(), "confirmation": ""}
    payload.update(data)
    payload = {k: v for k, v in payload.items() if v is not None}
    return client.post(reverse("documents:delivery_receive", args=[case.pk, delivery.pk]), payload)


def sent(document, *, actor, method=Delivery.Method.POST, recipient="张小三", to_agency=False,
         sent_on=None) -> Delivery:
    return delivery_services.delivery_send(document.pk, actor=actor, method=method, recipient=recipient,
                                           sent_on=sent_on or clocks.today(),
                                           tracking_number=TRACKING if method == Delivery.Method.POST else "",
                                           to_agency=to_agency)


def page(client, case):
    return client.get(reverse("documents:case", args=[case.pk]))


# SENDING ------------------------------------------------------------------------------------------

def test_the_sending_form_is_prefilled_with_the_applicant_and_today(client, case, clerk, notice):
    client.force_login(clerk)

    response = page(client, case)

    form = response.context["rows"][0]["send_form"]
    assert form.initial["recipient"] == notice.values["applicant"]["name"]
    assert form.initial["sent_on"] == clocks.today()
    assert reverse("documents:delivery_send", args=[case.pk, notice.pk]) in response.content.decode()


def test_registered_post_without_a_tracking_number_is_refused_and_kept(client, case, clerk, notice):
    client.force_login(clerk)

    response = send(client, case, notice, tracking_number="", recipient="李四（代收）")

    assert response.status_code == 200
    content = response.content.decode()
    assert "Registered post needs its tracking number." in content
    assert "李四（代收）" in content  # what was typed is kept
    assert not Delivery.objects.exists()


def test_registered_post_with_a_tracking_number_is_recorded_and_listed(client, case, clerk, notice):
    client.force_login(clerk)

    response = send(client, case, notice)

    assert response.status_code == 303
    delivery = Delivery.objects.get()
    assert (delivery.document, delivery.method, delivery.tracking_number, delivery.recipient) == (
        notice, Delivery.Method.POST, TRACKING, "张小三")
    assert (delivery.sent_on, delivery.received_on, delivery.to_agency) == (clocks.today(), None, False)
    content = page(client, case).content.decode()
    assert TRACKING in content
    assert "awaiting receipt" in content
    assert reverse("documents:delivery_receive", args=[case.pk, delivery.pk]) in content


def test_a_sending_date_before_the_document_was_issued_is_refused(client, case, clerk, notice):
    client.force_login(clerk)
    before = notice.issued_on - dt.timedelta(days=1)

    response = send(client, case, notice, sent_on=before.isoformat())

    assert response.status_code == 200
    assert f"cannot be before {notice.issued_on.isoformat()}" in response.content.decode()
    assert response.context["rows"][0]["send_form"].errors["sent_on"]
    assert not Delivery.objects.exists()


def test_the_agency_copy_with_no_recipient_is_addressed_to_the_agency(client, case, clerk, notice):
    client.force_login(clerk)

    send(client, case, notice, recipient="", to_agency="on", method=Delivery.Method.IN_PERSON, tracking_number="")

    delivery = Delivery.objects.get()
    assert (delivery.recipient, delivery.to_agency) == (AGENCY_RECIPIENT, True)
    assert "copy to agency" in page(client, case).content.decode()


def test_a_document_of_another_case_is_not_found(client, case, clerk, notice, committee):
    other = CaseFactory(committee=committee)
    client.force_login(clerk)

    response = send(client, other, notice)

    assert response.status_code == 404
    assert not Delivery.objects.exists()


# RECEIPT ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content"), [("回执.png", png_bytes), ("回执.pdf", pdf_bytes)])
def test_the_applicants_receipt_of_the_conclusion_letter_delivers_the_case(client, concluded, name, content):
    case, letter, clerk = concluded
    assert case.status == Status.CONCLUDED
    delivery = sent(letter, actor=clerk)
    client.force_login(clerk)
    today = clocks.today()

    response = receive(client, case, delivery, received_on=today.isoformat(),
                       receipt=SimpleUploadedFile(name, content(), content_type="application/octet-stream"))

    assert response.status_code == 303, response.content.decode()[:2000]
    delivery.refresh_from_db()
    case.refresh_from_db()
    assert delivery.received_on == today
    assert delivery.receipt and len(delivery.receipt_sha256) == 64
    assert case.status == Status.DELIVERED
    assert case.delivered_on == today
    assert case.reappraisal_window_ends is not None and case.reappraisal_window_ends > today


def test_a_receipt_date_before_the_sending_date_is_refused_and_the_case_unchanged(client, concluded):
    case, letter, clerk = concluded
    delivery = sent(letter, actor=clerk)
    client.force_login(clerk)
    before = delivery.sent_on - dt.timedelta(days=1)

    response = receive(client, case, delivery, received_on=before.isoformat(),
                       receipt=SimpleUploadedFile("回执.png", png_bytes()))

    assert response.status_code == 200
    assert f"cannot be before {delivery.sent_on.isoformat()}" in response.content.decode()
    delivery.refresh_from_db()
    case.refresh_from_db()
    assert (delivery.received_on, delivery.receipt.name, delivery.receipt_sha256) == (None, "", "")
    assert (case.status, case.delivered_on) == (Status.CONCLUDED, None)


def test_registered_post_needs_the_scan_of_the_receipt(client, case, clerk, notice):
    delivery = sent(notice, actor=clerk)
    client.force_login(clerk)

    response = receive(client, case, delivery, confirmation="已签收")

    assert response.status_code == 200
    assert "Upload the scan of the signed delivery receipt." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.received_on is None


def test_a_file_that_is_not_a_scan_is_refused_on_the_receipt_field(client, case, clerk, notice, document_files):
    delivery = sent(notice, actor=clerk)
    client.force_login(clerk)
    before = {p for p in document_files.rglob("*") if p.is_file()}

    response = receive(client, case, delivery, receipt=SimpleUploadedFile("回执.png", b"<html><script>x</script>"))

    assert response.status_code == 200
    form = response.context["rows"][0]["deliveries"][0]["receive_form"]
    assert form.errors["receipt"]
    delivery.refresh_from_db()
    assert delivery.received_on is None
    assert {p for p in document_files.rglob("*") if p.is_file()} == before


def test_an_electronic_delivery_with_a_confirmation_and_no_file_is_accepted(client, case, clerk, notice):
    delivery = sent(notice, actor=clerk, method=Delivery.Method.ELECTRONIC)
    client.force_login(clerk)

    response = receive(client, case, delivery, confirmation="电子送达平台回执 ED20260001")

    assert response.status_code == 303
    delivery.refresh_from_db()
    assert (delivery.received_on, delivery.confirmation, delivery.receipt.name) == (
        clocks.today(), "电子送达平台回执 ED20260001", "")
    content = page(client, case).content.decode()
    assert "ED20260001" in content
    assert reverse("documents:delivery_receive", args=[case.pk, delivery.pk]) not in content


def test_the_agency_copys_receipt_does_not_deliver_the_case(client, concluded):
    case, letter, clerk = concluded
    delivery = sent(letter, actor=clerk, recipient=AGENCY_RECIPIENT, to_agency=True)
    client.force_login(clerk)

    response = receive(client, case, delivery, receipt=SimpleUploadedFile("回执.png", png_bytes()))

    assert response.status_code == 303
    delivery.refresh_from_db()
    case.refresh_from_db()
    assert delivery.received_on == clocks.today()
    assert (case.status, case.delivered_on) == (Status.CONCLUDED, None)


def test_a_receipt_already_recorded_is_not_recorded_again(client, case, clerk, notice):
    delivery = sent(notice, actor=clerk, method=Delivery.Method.ELECTRONIC)
    client.force_login(clerk)
    receive(client, case, delivery, confirmation="第一次")

    response = receive(client, case, delivery, confirmation="第二次")

    assert response.status_code == 303
    delivery.refresh_from_db()
    assert delivery.confirmation == "第一次"


# THE RECEIPT SCAN ---------------------------------------------------------------------------------

@pytest.fixture
def received(case, clerk, notice) -> Delivery:
    delivery = sent(notice, actor=clerk)
    return delivery_services.delivery_receive(delivery.pk, actor=clerk, received_on=clocks.today(),
                                              receipt=io.BytesIO(pdf_bytes()), receipt_name="回执.pdf")


def test_the_clerk_downloads_the_receipt_scan(client, case, clerk, received):
    client.force_login(clerk)
    url = reverse("documents:delivery_receipt_download", args=[case.pk, received.pk])
    assert url in page(client, case).content.decode()

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert hashlib.sha256(response.content).hexdigest() == received.receipt_sha256
    assert AuditEvent.objects.filter(action="document.receipt_download", actor=clerk).count() == 1


def test_the_receipt_scan_is_not_found_for_another_committees_clerk(client, case, received):
    client.force_login(UserFactory(roles=["clerk"], committee=CommitteeFactory()))

    response = client.get(reverse("documents:delivery_receipt_download", args=[case.pk, received.pk]))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="document.receipt_download").exists()


def test_a_changed_receipt_scan_is_not_sent(client, case, clerk, received, document_files):
    (document_files / received.receipt.name).write_bytes(seal_bytes(b"%PDF-1.7 changed"))
    client.force_login(clerk)

    response = client.get(reverse("documents:delivery_receipt_download", args=[case.pk, received.pk]))

    assert response.status_code == 303


# WHO MAY ------------------------------------------------------------------------------------------

def test_a_reviewer_sees_the_deliveries_but_no_forms_and_cannot_post(client, case, clerk, notice, committee):
    delivery = sent(notice, actor=clerk)
    reviewer = UserFactory(roles=["reviewer"], committee=committee)
    client.force_login(reviewer)

    content = page(client, case).content.decode()
    assert TRACKING in content
    assert reverse("documents:delivery_send", args=[case.pk, notice.pk]) not in content
    assert reverse("documents:delivery_receive", args=[case.pk, delivery.pk]) not in content

    assert send(client, case, notice).status_code == 403
    assert receive(client, case, delivery, receipt=SimpleUploadedFile("回执.png", png_bytes())).status_code == 403
    delivery.refresh_from_db()
    assert Delivery.objects.count() == 1 and delivery.received_on is None
