"""CSRF protection everywhere (SEC-16): only the machine-to-machine endpoints are exempt."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

import laojian
from laojian.core.tests.factories import UserFactory

# The partner push (a bearer token, never a session), the public schema (it changes nothing), and
# the partner-file upload, which checks the token itself (csrf_protect) once its streaming upload
# handler is in place.
ALLOWED = {"crosscheck/api.py", "api/views.py", "crosscheck/import_views.py"}


def test_no_view_is_csrf_exempt_but_the_allowed_machine_endpoints():
    root = Path(laojian.__file__).parent
    exempt = {str(path.relative_to(root)) for path in root.rglob("*.py")
              if "tests" not in path.parts and "@csrf_exempt" in path.read_text(encoding="utf-8")}
    assert exempt == ALLOWED


@pytest.mark.django_db
def test_the_partner_file_upload_still_refuses_a_post_without_the_csrf_token():
    from laojian.crosscheck.models import Source

    liaison = UserFactory(roles=["liaison"])
    source = Source.objects.create(committee=liaison.committee, name="医保结算", kind=Source.Kind.choices[0][0])
    client = Client(enforce_csrf_checks=True)
    client.force_login(liaison)
    url = reverse("crosscheck:source_upload", args=[source.pk])
    response = client.post(url, {"file": SimpleUploadedFile("a.csv", b"x\n1\n")})
    assert response.status_code == 403
