"""`laojian check --deploy` passes with the production profile: no warnings, nothing silenced (SEC-70),
and the production cookies are Secure and __Host- prefixed (SEC-15)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from laojian.core.crypto import new_key


def production_env(tmp_path) -> dict[str, str]:
    # The test run's own switches (DATABASE_URL, DJANGO_ALLOW_ASYNC_UNSAFE set by the browser tests) are
    # not part of a deployment: start from the environment without them.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LAOJIAN_", "DJANGO_")) and k != "DATABASE_URL"}
    env.update({
        "LAOJIAN_PRODUCTION": "1",
        "LAOJIAN_SECRET_KEY": secrets.token_urlsafe(60),
        "LAOJIAN_ALLOWED_HOSTS": "laojian.example",
        "LAOJIAN_DATA_DIR": str(tmp_path),
        "LAOJIAN_FIELD_KEYS": f"k1:{new_key()}", "LAOJIAN_INDEX_KEY": new_key(),
        "DJANGO_SETTINGS_MODULE": "laojian.settings",
    })
    return env


def test_the_deploy_checks_pass_without_a_warning(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "laojian", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_cookies_are_secure_and_host_prefixed(tmp_path):
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
            "s.CSRF_COOKIE_NAME, s.CSRF_COOKIE_SECURE)")
    result = subprocess.run([sys.executable, "-c", code], env=production_env(tmp_path), capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.split() == ["__Host-sessionid", "True", "True", "__Host-csrftoken", "True"], result.stderr
