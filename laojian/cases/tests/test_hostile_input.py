"""Hostile input is stored exactly and shown as text: in the case page, the worklist, the sign-in
desk and the waiting-room screen, nothing typed by a user runs (no markup, no template, no header)."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from laojian.cases.models import Case, Worker
from laojian.cases.tests.factories import CaseFactory
from laojian.core.tests.factories import UserFactory
from laojian.core.tests.hostile import HOSTILE

pytestmark = pytest.mark.django_db


def hostile_case(text: str) -> Case:
    case = CaseFactory(mode_reason=text, applicant_name=text)
    Worker.objects.filter(pk=case.worker_id).update(name=text, address=text)
    return Case.objects.select_related("worker").get(pk=case.pk)


def shown_as_text(page: str, text: str) -> bool:
    return html.escape(text) in page or html.escape(text, quote=False) in page


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_exactly(text):
    case = hostile_case(text)
    assert (case.worker.name, case.mode_reason) == (text, text)


@pytest.mark.parametrize("text", HOSTILE)
def test_the_case_page_shows_hostile_text_as_text(client, text):
    case = hostile_case(text)
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert shown_as_text(page, text)
    assert "<script>alert" not in page and "<img src=x" not in page


@pytest.mark.parametrize("text", HOSTILE)
def test_the_worklist_shows_hostile_text_as_text(client, text):
    case = hostile_case(text)
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    page = client.get(reverse("cases:worklist")).content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page


@pytest.mark.parametrize("text", HOSTILE)
def test_no_response_header_carries_a_line_break_from_input(client, text):
    case = hostile_case(text)
    client.force_login(UserFactory(committee=case.committee, roles=["clerk"]))
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert "Set-Cookie" not in response.headers or "a=b" not in response.headers.get("Set-Cookie", "")
    assert all("\n" not in value and "\r" not in value for value in response.headers.values())
