"""Applicants sign in with a mobile number and a one-time code sent through the outbox."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from laojian.core.models import AuditEvent
from laojian.notify.models import Notification
from laojian.portal import services
from laojian.portal.models import OneTimeCode

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


def last_code(phone: str = PHONE) -> str:
    text = Notification.objects.filter(recipient=phone).order_by("-id").first().text
    return re.search(r"\d{6}", text).group(0)


def test_a_code_is_sent_by_sms_and_only_its_hash_is_kept():
    services.code_request(PHONE)
    code = last_code()
    stored = OneTimeCode.objects.get(phone=PHONE)
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64


def test_the_right_code_signs_in_an_applicant_and_is_used_up():
    services.code_request(PHONE)
    user = services.code_verify(PHONE, last_code())
    assert user.username == f"m{PHONE}"
    assert user.has_perm("cases.submit_case")
    assert not user.has_usable_password()
    assert OneTimeCode.objects.filter(phone=PHONE).count() == 0


def test_a_wrong_code_is_refused_and_counted():
    services.code_request(PHONE)
    with pytest.raises(services.CodeRefused):
        services.code_verify(PHONE, "000000" if last_code() != "000000" else "111111")
    assert OneTimeCode.objects.get(phone=PHONE).attempts == 1


def test_after_five_wrong_tries_even_the_right_code_is_refused():
    services.code_request(PHONE)
    code = last_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(services.MAX_ATTEMPTS):
        with pytest.raises(services.CodeRefused):
            services.code_verify(PHONE, wrong)
    with pytest.raises(services.CodeRefused):
        services.code_verify(PHONE, code)


def test_an_expired_code_is_refused():
    services.code_request(PHONE, now=timezone.now() - dt.timedelta(minutes=6))
    with pytest.raises(services.CodeRefused):
        services.code_verify(PHONE, last_code())


def test_codes_per_phone_are_limited():
    for _ in range(services.CODES_PER_PHONE_PER_HOUR):
        services.code_request(PHONE)
    with pytest.raises(services.TooManyCodes):
        services.code_request(PHONE)


def test_codes_per_address_are_limited():
    for n in range(services.CODES_PER_ADDRESS_PER_HOUR):
        services.code_request(f"139{n:08d}", ip_address="10.0.0.7")
    with pytest.raises(services.TooManyCodes):
        services.code_request("13700000000", ip_address="10.0.0.7")


@pytest.mark.parametrize("phone", ["12345", "23800000000", "1381234567x", ""])
def test_a_malformed_phone_number_is_refused(phone):
    from laojian.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.code_request(phone)
    assert OneTimeCode.objects.count() == 0


def test_the_sign_in_pages_work_end_to_end(client):
    response = client.post("/portal/sign-in/", {"step": "phone", "phone": PHONE})
    assert response.status_code == 200
    assert response.context["sent"] is True
    response = client.post("/portal/sign-in/", {"step": "code", "phone": PHONE, "code": last_code()})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    assert AuditEvent.objects.filter(action="login").count() == 1


def test_a_wrong_code_on_the_page_says_so_next_to_the_field(client):
    client.post("/portal/sign-in/", {"step": "phone", "phone": PHONE})
    wrong = "000000" if last_code() != "000000" else "111111"
    response = client.post("/portal/sign-in/", {"step": "code", "phone": PHONE, "code": wrong})
    assert response.status_code == 200
    assert response.context["code_form"].errors["code"]
