"""HTMX POSTs carry no idempotency key, so each must be harmless to repeat (REL-20): the
registry ``HTMX_REPEATABLE`` says why for every one, and the repeatable ones are shown to be."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from laojian.core.idempotency import HTMX_REPEATABLE
from laojian.core.tests.factories import UserFactory

HX_WRITE = re.compile(r"""hx-(?:post|put|patch|delete)\s*=\s*["']\{%\s*url\s+['"]([\w:]+)['"]""")


def htmx_write_targets() -> set[str]:
    names = set()
    for template in Path(settings.BASE_DIR).rglob("templates/**/*.html"):
        names.update(HX_WRITE.findall(template.read_text(encoding="utf-8")))
    return names


def test_every_htmx_post_of_the_site_is_known_to_be_repeatable():
    found = htmx_write_targets()
    assert found, "the scan found no HTMX POST at all: the pattern no longer matches the templates"
    assert found - set(HTMX_REPEATABLE) == set()


def test_the_registry_names_no_view_the_templates_no_longer_post_to():
    assert set(HTMX_REPEATABLE) - htmx_write_targets() == set()


@pytest.mark.django_db
def test_saving_the_portal_draft_twice_keeps_one_draft(client):
    from laojian.portal.models import ApplicationDraft

    applicant = UserFactory(committee=None, roles=["applicant"])
    client.force_login(applicant)
    for _ in range(2):
        response = client.post(reverse("portal:draft"), {"applicant_name": "张三"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
    assert ApplicationDraft.objects.filter(user=applicant).count() == 1
