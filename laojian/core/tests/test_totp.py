"""TOTP (RFC 6238) as the staff second factor: the algorithm, the ±1 step window, no replay,
the secret encrypted at rest, recovery codes (SEC-07, SEC-43, ASVS V6.5.1)."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from cryptography.exceptions import InvalidTag

from laojian.core import totp
from laojian.core.models import AuditEvent, RecoveryCode, TOTPDevice
from laojian.core.tests.factories import UserFactory

# RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC_SEED = b"12345678901234567890"


@pytest.mark.parametrize(("at", "expected"), [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
])
def test_codes_match_the_rfc_6238_test_vectors(at, expected):
    assert totp.totp(RFC_SEED, at=at, digits=8) == expected


def test_six_digit_codes_are_the_last_six_digits_of_the_rfc_value():
    assert totp.totp(RFC_SEED, at=59) == "287082"


def test_hotp_matches_the_rfc_4226_test_vectors():
    # RFC 4226 Appendix D, counters 0..3.
    assert [totp.hotp(RFC_SEED, c) for c in range(4)] == ["755224", "287082", "359152", "969429"]


def test_the_step_is_thirty_seconds():
    assert totp.time_step(59) == 1
    assert totp.time_step(60) == 2


def test_a_code_of_the_previous_step_is_accepted():
    at = 1_700_000_000
    code = totp.totp(RFC_SEED, at=at - 30)
    assert totp.matching_step(RFC_SEED, code, at=at) == totp.time_step(at) - 1


def test_a_code_of_the_next_step_is_accepted():
    at = 1_700_000_000
    code = totp.totp(RFC_SEED, at=at + 30)
    assert totp.matching_step(RFC_SEED, code, at=at) == totp.time_step(at) + 1


def test_a_code_two_steps_old_is_refused():
    at = 1_700_000_000
    assert totp.matching_step(RFC_SEED, totp.totp(RFC_SEED, at=at - 60), at=at) is None


def test_a_code_of_an_already_used_step_is_refused():
    at = 1_700_000_000
    code = totp.totp(RFC_SEED, at=at)
    assert totp.matching_step(RFC_SEED, code, at=at, after_step=totp.time_step(at)) is None


def test_letters_are_never_a_totp_code():
    assert totp.matching_step(RFC_SEED, "abcdef", at=59) is None


def test_the_secret_text_is_base32_in_groups_of_four():
    text = totp.secret_text(RFC_SEED)
    assert text == "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"


def test_the_provisioning_uri_carries_secret_issuer_and_parameters(settings):
    settings.LAOJIAN_TOTP_ISSUER = "劳鉴"
    uri = totp.provisioning_uri(RFC_SEED, "clerk1")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/劳鉴:clerk1"
    assert query == {"secret": ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"], "issuer": ["劳鉴"], "algorithm": ["SHA1"],
                     "digits": ["6"], "period": ["30"]}


def test_the_qr_code_is_an_svg_data_uri():
    assert totp.qr_data_uri("otpauth://totp/x?secret=AAAA").startswith("data:image/svg+xml")


# DEVICES (database) -------------------------------------------------------------------------------


def enrolled(user, at=1_700_000_000):
    device, key = totp.device_start(user)
    codes = totp.device_confirm(user, totp.totp(key, at=at), at=at)
    return key, codes


@pytest.mark.django_db
def test_the_secret_is_stored_encrypted():
    user = UserFactory()
    _device, key = totp.device_start(user)
    stored = TOTPDevice.objects.get(user=user).secret
    assert base64.b32encode(key).decode().rstrip("=") not in stored
    assert key not in stored.encode()
    assert stored.startswith("v1:")


@pytest.mark.django_db
def test_a_secret_copied_to_another_user_does_not_decrypt():
    user, other = UserFactory(), UserFactory()
    totp.device_start(user)
    with pytest.raises(InvalidTag):
        totp.decrypt_secret(TOTPDevice.objects.get(user=user).secret, other.pk)


@pytest.mark.django_db
def test_a_secret_does_not_decrypt_under_another_key(settings):
    user = UserFactory()
    totp.device_start(user)
    settings.LAOJIAN_TOTP_ENCRYPTION_KEY = "another key entirely"
    with pytest.raises(InvalidTag):
        totp.decrypt_secret(TOTPDevice.objects.get(user=user).secret, user.pk)


@pytest.mark.django_db
def test_confirming_gives_ten_recovery_codes_stored_as_hashes():
    user = UserFactory()
    _key, codes = enrolled(user)
    hashes = set(RecoveryCode.objects.filter(device__user=user).values_list("code_hash", flat=True))
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert hashes == {totp._recovery_hash(code.replace("-", "")) for code in codes}
    assert not any(code.replace("-", "") in h for code in codes for h in hashes)


@pytest.mark.django_db
def test_confirming_is_audited():
    user = UserFactory()
    enrolled(user)
    assert AuditEvent.objects.filter(action="second_factor_enrolled", object_id=str(user.pk)).count() == 1


@pytest.mark.django_db
def test_a_wrong_first_code_does_not_confirm():
    user = UserFactory()
    at = 1_700_000_000
    _device, key = totp.device_start(user)
    valid = {totp.totp(key, at=at + drift) for drift in (-30, 0, 30)}
    wrong = next(f"{n:06d}" for n in range(10) if f"{n:06d}" not in valid)
    assert totp.device_confirm(user, wrong, at=at) is None
    assert TOTPDevice.objects.get(user=user).confirmed_at is None


@pytest.mark.django_db
def test_a_confirmed_secret_is_never_handed_out_again():
    user = UserFactory()
    enrolled(user)
    with pytest.raises(ValueError):
        totp.device_start(user)


@pytest.mark.django_db
def test_a_current_code_verifies_once():
    user = UserFactory()
    at = 1_700_000_000
    key, _codes = enrolled(user, at=at)
    later = at + 90
    code = totp.totp(key, at=later)
    assert totp.verify(user, code, at=later) == totp.Verified("totp")
    assert totp.verify(user, code, at=later) is None


@pytest.mark.django_db
def test_the_enrolment_code_cannot_be_replayed_to_sign_in():
    user = UserFactory()
    at = 1_700_000_000
    key, _codes = enrolled(user, at=at)
    assert totp.verify(user, totp.totp(key, at=at), at=at) is None


@pytest.mark.django_db
def test_a_code_older_than_the_last_used_one_is_refused():
    user = UserFactory()
    at = 1_700_000_000
    key, _codes = enrolled(user, at=at)
    assert totp.verify(user, totp.totp(key, at=at + 60), at=at + 60) is not None
    assert totp.verify(user, totp.totp(key, at=at + 30), at=at + 60) is None


@pytest.mark.django_db
def test_a_recovery_code_works_once():
    user = UserFactory()
    _key, codes = enrolled(user)
    assert totp.verify(user, codes[0]) == totp.Verified("recovery")
    assert totp.verify(user, codes[0]) is None
    assert totp.recovery_codes_left(user) == 9


@pytest.mark.django_db
def test_a_recovery_code_is_accepted_without_dashes_and_in_capitals():
    user = UserFactory()
    _key, codes = enrolled(user)
    assert totp.verify(user, codes[3].replace("-", " ").upper()) == totp.Verified("recovery")


@pytest.mark.django_db
def test_new_recovery_codes_replace_the_old_ones():
    user = UserFactory()
    _key, old = enrolled(user)
    new = totp.recovery_codes_renew(user)
    assert totp.verify(user, old[0]) is None
    assert totp.verify(user, new[0]) == totp.Verified("recovery")


@pytest.mark.django_db
def test_a_reset_removes_device_and_codes_and_is_audited():
    user, admin = UserFactory(), UserFactory()
    enrolled(user)
    assert totp.device_reset(user, actor=admin, ip_address="10.0.0.9") is True
    event = AuditEvent.objects.get(action="second_factor_reset")
    assert (event.actor_id, event.object_id, event.ip_address) == (admin.pk, str(user.pk), "10.0.0.9")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.filter(device__user=user).exists()
