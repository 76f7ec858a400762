"""Settings, read from the environment.

Local use needs nothing set: SQLite in ``LAOJIAN_DATA_DIR`` (default ``data/`` in the checkout),
debug on, Simplified Chinese. ``LAOJIAN_PRODUCTION=1`` turns on the production profile, which
refuses to start without ``LAOJIAN_SECRET_KEY`` and ``LAOJIAN_ALLOWED_HOSTS``. Every variable is
listed in README.md.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


def _fail(message: str):
    raise ImproperlyConfigured(message)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


# PROFILE ---------------------------------------------------------------------------------------
PRODUCTION = env_bool("LAOJIAN_PRODUCTION", False)
DEBUG = env_bool("LAOJIAN_DEBUG", not PRODUCTION)

SECRET_KEY = os.environ.get("LAOJIAN_SECRET_KEY", "")
ALLOWED_HOSTS = env_list("LAOJIAN_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION:
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "LAOJIAN_PRODUCTION is on: set LAOJIAN_SECRET_KEY to a random string of 50 or more characters."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "LAOJIAN_PRODUCTION is on: set LAOJIAN_ALLOWED_HOSTS to the host names this server answers to."
        )
elif not SECRET_KEY:
    # Local use only: a fixed development key, never accepted by the production profile.
    SECRET_KEY = "laojian-development-key-not-for-production-use-0123456789abcdef"

# DATA ------------------------------------------------------------------------------------------
DATA_DIR = Path(os.environ.get("LAOJIAN_DATA_DIR") or PROJECT_DIR / "data")
MEDIA_ROOT = DATA_DIR / "media"
STATIC_ROOT = DATA_DIR / "static"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise looks for it even when finders serve
# Large uploads are spooled here, not in the system's /tmp: a server killed mid-upload leaves its
# half-received file where ``laojian cleanup`` finds it (issue 10, crash safety).
FILE_UPLOAD_TEMP_DIR = str(Path(os.environ.get("LAOJIAN_UPLOAD_TEMP_DIR") or DATA_DIR / "tmp" / "uploads"))
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)

_SQLITE_OPTIONS = {
    # REL-03: WAL, full sync, foreign keys, writers wait instead of failing, and write
    # transactions take the write lock at BEGIN so a read-then-write cannot deadlock.
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
    ),
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=600,
                                                  conn_health_checks=True)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "laojian.sqlite3",
            "OPTIONS": _SQLITE_OPTIONS,
            "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(_SQLITE_OPTIONS)
elif "postgresql" in DATABASES["default"]["ENGINE"] and not env_bool("LAOJIAN_PG_JIT", False):
    # PostgreSQL's JIT compiles a statistics query for longer (0.3-0.7 s) than the query runs; the
    # application's queries are all index-bound, so it is off unless LAOJIAN_PG_JIT says otherwise.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# APPLICATIONS ------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "laojian.core",
    "laojian.cases",
    "laojian.experts",
    "laojian.grading",
    "laojian.documents",
    "laojian.review",
    "laojian.crosscheck",
    "laojian.sittings",
    "laojian.notify",
    "laojian.portal",
    "laojian.reports",
    "laojian.api",
    "laojian.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "laojian.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Every 403/404 to a signed-in user is logged by ids (SEC-27).
    "laojian.core.middleware.RefusalLogMiddleware",
    # After authentication: ends sessions past their cap or without their second factor.
    "laojian.core.middleware.SessionSecurityMiddleware",
    "laojian.core.middleware.SessionIdleRefreshMiddleware",
    "laojian.core.ratelimit.RateLimitMiddleware",
    # After CSRF and authentication: a POST sent twice with one key does its work once (REL-20).
    "laojian.core.idempotency.IdempotencyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "laojian.core.middleware.NoStoreForAuthenticatedMiddleware",
]

ROOT_URLCONF = "laojian.urls"
WSGI_APPLICATION = "laojian.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "laojian.core.context_processors.roles",
            ],
        },
    },
]

# LANGUAGE AND TIME -------------------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LAOJIAN_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# STATIC ASSETS: installed by npm (package.json), served locally; no CDN ------------------------------
STATIC_URL = "static/"
NODE_MODULES = Path(os.environ.get("LAOJIAN_NODE_MODULES") or PROJECT_DIR / "node_modules")
STATICFILES_DIRS = [
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# CASE MATERIALS (uploads) ----------------------------------------------------------------------------
# Medical files are stored under random names outside anything served by URL: no URL pattern serves
# MEDIA_ROOT or the materials directory, and whitenoise serves STATIC_ROOT only. Files go out only
# through the permission-checked, audited view `cases:material_download`. The backend holds only
# sealed bytes: `cases.models.MaterialsStorage` encrypts every file over it (SEC-55,
# laojian/core/sealed_storage.py), so any backend named here gets ciphertext.
# LAOJIAN_MATERIALS_STORAGE names the backend class (default: the file system under
# LAOJIAN_DATA_DIR/materials); a large deployment can name an S3-compatible backend, e.g.
# "storages.backends.s3.S3Storage" once django-storages and boto3 are installed, and pass its
# options as a JSON object in LAOJIAN_MATERIALS_STORAGE_OPTIONS (bucket_name, endpoint_url, ...).
LAOJIAN_MATERIALS_STORAGE = os.environ.get(
    "LAOJIAN_MATERIALS_STORAGE", "django.core.files.storage.FileSystemStorage"
)
if os.environ.get("LAOJIAN_MATERIALS_STORAGE_OPTIONS"):
    try:
        _materials_options = json.loads(os.environ["LAOJIAN_MATERIALS_STORAGE_OPTIONS"])
    except ValueError as exc:
        raise ImproperlyConfigured("LAOJIAN_MATERIALS_STORAGE_OPTIONS must be a JSON object") from exc
    if not isinstance(_materials_options, dict):
        raise ImproperlyConfigured("LAOJIAN_MATERIALS_STORAGE_OPTIONS must be a JSON object")
elif LAOJIAN_MATERIALS_STORAGE == "django.core.files.storage.FileSystemStorage":
    _materials_options = {"location": str(DATA_DIR / "materials"), "file_permissions_mode": 0o640,
                          "directory_permissions_mode": 0o750}
else:
    _materials_options = {}
STORAGES["materials"] = {"BACKEND": LAOJIAN_MATERIALS_STORAGE, "OPTIONS": _materials_options}
# Largest file accepted (bytes); also limit the request body at the reverse proxy (SEC-23).
LAOJIAN_UPLOAD_MAX_BYTES = env_int("LAOJIAN_UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
# Files in one upload request (Django's own ceiling, DATA_UPLOAD_MAX_NUMBER_FILES, stays at 100).
LAOJIAN_UPLOAD_MAX_FILES = env_int("LAOJIAN_UPLOAD_MAX_FILES", 10)

# OFFICIAL DOCUMENTS (laojian/documents) -----------------------------------------------------------
# The CJK font embedded in every PDF (Debian's fonts-noto-cjk; tools/ensure-packages installs it) and
# the face in that collection: 2 is Noto Serif CJK SC (Simplified Chinese).
LAOJIAN_DOCUMENT_FONT = os.environ.get(
    "LAOJIAN_DOCUMENT_FONT", "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
)
LAOJIAN_DOCUMENT_FONT_INDEX = env_int("LAOJIAN_DOCUMENT_FONT_INDEX", 2)
# "pades" signs every PDF with the committee's key (PAdES, pyHanko); "none" leaves it unsigned.
LAOJIAN_DOCUMENT_SIGNER = os.environ.get("LAOJIAN_DOCUMENT_SIGNER", "pades")
if LAOJIAN_DOCUMENT_SIGNER not in ("pades", "none"):
    _fail(f"LAOJIAN_DOCUMENT_SIGNER must be pades or none, not {LAOJIAN_DOCUMENT_SIGNER!r}")
# One PKCS#12 file per committee, <committee code>.p12, created on first use (a self-signed
# certificate) unless the deployment put one issued by its CA there.
LAOJIAN_SIGNING_KEY_DIR = Path(os.environ.get("LAOJIAN_SIGNING_KEY_DIR") or DATA_DIR / "keys")
# Encrypts those files. Empty: they are stored unencrypted, readable by the owner only (mode 0600);
# production should set it (and keep it out of the data directory's backups).
LAOJIAN_SIGNING_KEY_PASSWORD = os.environ.get("LAOJIAN_SIGNING_KEY_PASSWORD", "")

# BACKUPS (laojian backup / laojian restore) ----------------------------------------------------------
# Where `laojian backup` writes by default; point it at another disk or a mounted remote share.
LAOJIAN_BACKUP_DIR = Path(os.environ.get("LAOJIAN_BACKUP_DIR") or DATA_DIR / "backups")

# Hours a POST's idempotency key and its response are kept (REL-20 asks at least 24).
LAOJIAN_IDEMPOTENCY_HOURS = env_int("LAOJIAN_IDEMPOTENCY_HOURS", 48)

# Retention (SEC-64, `laojian retention`, laojian/cases/retention.py): days after a case closed
# before its personal data is anonymised, per retention class. Years count as 366 days, so a period
# never ends before the same calendar date. An appraised case is also kept until its archive
# package's own date (50 years, laojian/documents/archive.py), whichever is later. A case holds its
# timeline (a log), so `laojian retention` refuses any period under 180 days (SEC-52). The audit
# trail is never deleted by the application.
LAOJIAN_RETENTION_DAYS = {
    "application": env_int("LAOJIAN_RETENTION_APPLICATION_DAYS", 3 * 366),  # never accepted
    "no_conclusion": env_int("LAOJIAN_RETENTION_NO_CONCLUSION_DAYS", 10 * 366),  # terminated, withdrawn
    "appraised": env_int("LAOJIAN_RETENTION_APPRAISED_DAYS", 50 * 366),  # archived with a conclusion
}

# SECURITY ------------------------------------------------------------------------------------------
# Break-glass (laojian.cases.breakglass): minutes one grant opens one case's medical content to the
# system administrator, who must give a reason; the grant and every read under it are audited.
LAOJIAN_BREAK_GLASS_MINUTES = env_int("LAOJIAN_BREAK_GLASS_MINUTES", 30)

# Passwords (SEC-08, MLPS SEC-40): at least LAOJIAN_PASSWORD_MIN_LENGTH characters (ASVS 4.0.3
# V2.1.1 asks 12), not on the common-password list, not like the user's own name or phone, not all
# digits. Validators run in the password forms only: test factories may set shorter passwords.
LAOJIAN_PASSWORD_MIN_LENGTH = env_int("LAOJIAN_PASSWORD_MIN_LENGTH", 12)
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "first_name", "last_name", "email", "display_name", "phone")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": LAOJIAN_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Days after which a staff user must choose a new password; 0 = never. ASVS 5.0 V6.2.10 advises
# against forced rotation, MLPS asks for 定期更换: set it to what the assessor asks for (SEC-08).
LAOJIAN_PASSWORD_MAX_AGE_DAYS = env_int("LAOJIAN_PASSWORD_MAX_AGE_DAYS", 0)

# Second factor for staff (SEC-07, SEC-43): a TOTP authenticator app (RFC 6238). Required by
# default in production; in development only users who enrolled are asked (so the demo logins work).
LAOJIAN_TOTP_REQUIRED = env_bool("LAOJIAN_TOTP_REQUIRED", PRODUCTION)
LAOJIAN_TOTP_ISSUER = os.environ.get("LAOJIAN_TOTP_ISSUER", "Laojian")  # the name the app shows
# Key that encrypts the stored TOTP secrets (AES-256-GCM). Empty: derived from SECRET_KEY, so
# changing SECRET_KEY makes every user enrol again; production should set its own random key.
LAOJIAN_TOTP_ENCRYPTION_KEY = os.environ.get("LAOJIAN_TOTP_ENCRYPTION_KEY", "")

# Encryption at rest of ID numbers, phones and medical free text (SEC-55; laojian/core/crypto.py,
# docs/data-inventory.md). LAOJIAN_FIELD_KEYS: "<id>:<base64 of 32 bytes>" pairs, comma separated,
# the first encrypts and all decrypt (rotation: put the new key first, run `laojian rotate_keys`,
# then drop the old one). LAOJIAN_INDEX_KEY: base64 of 32 bytes for the blind index of ID numbers.
# Make one with `laojian rotate_keys --new-key`. The fixed development keys below never pass the
# production profile.
_DEV_FIELD_KEYS = "dev:CXX48N4JrukQG22tNWs+IR/HUNdR1I4Gq8fFZv6Cnu4="
_DEV_INDEX_KEY = "yzUFMKtRbeEMcUrnV3tGKu7r1Sy1oEykopIaqbxgZiw="
LAOJIAN_FIELD_KEYS = os.environ.get("LAOJIAN_FIELD_KEYS", "" if PRODUCTION else _DEV_FIELD_KEYS)
LAOJIAN_INDEX_KEY = os.environ.get("LAOJIAN_INDEX_KEY", "" if PRODUCTION else _DEV_INDEX_KEY)
if PRODUCTION and (not LAOJIAN_FIELD_KEYS or not LAOJIAN_INDEX_KEY
                   or LAOJIAN_FIELD_KEYS == _DEV_FIELD_KEYS or LAOJIAN_INDEX_KEY == _DEV_INDEX_KEY):
    raise ImproperlyConfigured(
        "LAOJIAN_PRODUCTION is on: set LAOJIAN_FIELD_KEYS and LAOJIAN_INDEX_KEY to keys of your own "
        "(`laojian rotate_keys --new-key` prints one)."
    )
if PRODUCTION:
    from laojian.core.crypto import parse_keys

    parse_keys(LAOJIAN_FIELD_KEYS, LAOJIAN_INDEX_KEY)  # a malformed key stops the start, with its name

# Failed sign-ins (SEC-09, MLPS 登录失败处理): this many failures for one user name, or from one
# address, within the window lock that name or address for LAOJIAN_LOCKOUT_SECONDS. Counted in
# the database, so every worker sees the same count.
LAOJIAN_LOCKOUT_ACCOUNT_FAILURES = env_int("LAOJIAN_LOCKOUT_ACCOUNT_FAILURES", 5)
LAOJIAN_LOCKOUT_ADDRESS_FAILURES = env_int("LAOJIAN_LOCKOUT_ADDRESS_FAILURES", 20)
LAOJIAN_LOCKOUT_WINDOW_SECONDS = env_int("LAOJIAN_LOCKOUT_WINDOW_SECONDS", 900)
LAOJIAN_LOCKOUT_SECONDS = env_int("LAOJIAN_LOCKOUT_SECONDS", 900)
# Believe X-Forwarded-For (its right-most address) as the client's address: only when a reverse
# proxy in front of the application sets it. Used by the audit trail, lockouts and rate limits.
LAOJIAN_TRUST_X_FORWARDED_FOR = env_bool("LAOJIAN_TRUST_X_FORWARDED_FOR", False)

# Sessions (SEC-13, SEC-14): end after LAOJIAN_SESSION_IDLE_SECONDS without activity, and in any
# case LAOJIAN_SESSION_MAX_SECONDS after sign-in (MLPS 登录连接超时自动退出).
SESSION_COOKIE_AGE = env_int("LAOJIAN_SESSION_IDLE_SECONDS", 1800)
LAOJIAN_SESSION_MAX_SECONDS = env_int("LAOJIAN_SESSION_MAX_SECONDS", 12 * 3600)
SESSION_SAVE_EVERY_REQUEST = False  # the idle timeout slides through SessionIdleRefreshMiddleware
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy on every response (SEC-17): no inline script or style anywhere.
LAOJIAN_CSP = os.environ.get("LAOJIAN_CSP") or (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
# On: the policy is only reported by browsers (Content-Security-Policy-Report-Only), not enforced.
LAOJIAN_CSP_REPORT_ONLY = env_bool("LAOJIAN_CSP_REPORT_ONLY", False)

# Rate limits on public pages (SEC-30), by URL name: at most "limit" requests per "window"
# seconds per client address ("ip") or per value of a POST field ("post:phone"); "methods"
# narrows a rule to some HTTP methods. More are refused with 429. LAOJIAN_RATE_LIMITS (a JSON
# object of the same shape) replaces the whole table.
LAOJIAN_RATE_LIMITS = {
    "documents:verify": [{"scope": "ip", "limit": 60, "window": 600}],
    "documents:verify_lookup": [{"scope": "ip", "limit": 60, "window": 600}],
    # One sign-in is two POSTs (ask for a code, then check it): leave room for a resend and a typo.
    "portal:sign_in": [
        {"scope": "ip", "limit": 60, "window": 900, "methods": ["POST"]},
        {"scope": "post:phone", "limit": 10, "window": 900, "methods": ["POST"]},
    ],
    # Staff sign-in has its own lockout; this only bounds the load (and the audit entries a locked
    # name's refusals write) from one address. A whole office may share one address: keep it high.
    "login": [{"scope": "ip", "limit": 300, "window": 900, "methods": ["POST"]}],
    "login_code": [{"scope": "ip", "limit": 300, "window": 900, "methods": ["POST"]}],
}
if os.environ.get("LAOJIAN_RATE_LIMITS"):
    try:
        LAOJIAN_RATE_LIMITS = json.loads(os.environ["LAOJIAN_RATE_LIMITS"])
    except ValueError as exc:
        raise ImproperlyConfigured("LAOJIAN_RATE_LIMITS must be a JSON object") from exc
    if not isinstance(LAOJIAN_RATE_LIMITS, dict):
        raise ImproperlyConfigured("LAOJIAN_RATE_LIMITS must be a JSON object")

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # SEC-15: the __Host- prefix makes browsers refuse the cookie unless Secure, Path=/, no Domain.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("LAOJIAN_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("LAOJIAN_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("LAOJIAN_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# LOGGING -------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One event, one line: CR/LF in a message are escaped (laojian/core/logsafe.py, SEC-28).
    "formatters": {"plain": {"()": "laojian.core.logsafe.OneLineFormatter",
                             "format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LAOJIAN_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# BACKGROUND TASKS ------------------------------------------------------------------------------------
# Django's tasks API (the django-tasks backport on 5.2). The default queue is a database table, so
# the embedded edition needs no extra server: `laojian db_worker` runs the worker. "immediate" runs
# tasks in the request (for tests and one-off scripts).
LAOJIAN_TASKS_BACKEND = os.environ.get("LAOJIAN_TASKS_BACKEND", "database")
TASKS = {
    "default": {
        "BACKEND": {
            "database": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
        }.get(LAOJIAN_TASKS_BACKEND)
        or _fail(f"LAOJIAN_TASKS_BACKEND must be database or immediate, not {LAOJIAN_TASKS_BACKEND!r}"),
    }
}

# PUBLIC ADDRESS ---------------------------------------------------------------------------------------
# The address the public reaches this site at: printed in the QR code of every verifiable document
# (/v/<code>/) and in messages. Set it to the committee's public https address in production.
LAOJIAN_PUBLIC_URL = os.environ.get("LAOJIAN_PUBLIC_URL", "http://127.0.0.1:8000")

# APPRAISAL MODES (laojian/sittings) -------------------------------------------------------------------
# Remote appraisal (远程鉴定): the video room of an appointment is a URL on the committee's own
# Jitsi-compatible server (self-hosted on the intranet; nothing outside is called). The provider
# class makes the room; the default joins the base URL and a random room name.
LAOJIAN_VIDEO_PROVIDER = os.environ.get("LAOJIAN_VIDEO_PROVIDER", "laojian.sittings.video.JitsiRooms")
LAOJIAN_VIDEO_BASE_URL = os.environ.get("LAOJIAN_VIDEO_BASE_URL", "https://meet.laojian.invalid")

# CROSS-CHECKS (laojian/crosscheck) --------------------------------------------------------------------
# Claimed and partner dates agree when they differ by at most this many days.
LAOJIAN_CROSSCHECK_DATE_TOLERANCE_DAYS = env_int("LAOJIAN_CROSSCHECK_DATE_TOLERANCE_DAYS", 3)
# Weight of each rule in a case's risk score, as a JSON object overriding the defaults
# (e.g. {"no_settlement": 3, "pre_existing": 2}); rules not named keep their default weight.
LAOJIAN_CROSSCHECK_RULE_WEIGHTS = json.loads(os.environ.get("LAOJIAN_CROSSCHECK_RULE_WEIGHTS") or "{}")

# NOTIFICATIONS (laojian/notify) ----------------------------------------------------------------------
# Every SMS and e-mail is a row in the outbox (/notify/outbox/), delivered by a background task.
# "outbox" sends nothing: the text is shown on the outbox page and logged at INFO (demo, no gateway).
LAOJIAN_SMS_BACKEND = os.environ.get("LAOJIAN_SMS_BACKEND", "outbox")  # outbox | http
LAOJIAN_SMS_URL = os.environ.get("LAOJIAN_SMS_URL", "")  # the gateway's endpoint (POST JSON phone, text, sign)
LAOJIAN_SMS_TOKEN = os.environ.get("LAOJIAN_SMS_TOKEN", "")  # sent as "Authorization: Bearer <token>"
LAOJIAN_SMS_SIGN = os.environ.get("LAOJIAN_SMS_SIGN", "劳动能力鉴定委员会")  # the registered SMS signature
LAOJIAN_SMS_TIMEOUT = env_int("LAOJIAN_SMS_TIMEOUT", 10)  # seconds
LAOJIAN_EMAIL_BACKEND = os.environ.get("LAOJIAN_EMAIL_BACKEND", "outbox")  # outbox | smtp (EMAIL_* below)
LAOJIAN_NOTIFY_MAX_ATTEMPTS = env_int("LAOJIAN_NOTIFY_MAX_ATTEMPTS", 5)
LAOJIAN_NOTIFY_RETRY_SECONDS = env_int("LAOJIAN_NOTIFY_RETRY_SECONDS", 60)  # backoff 1, 2, 4 … min, ≤ 1 h
EMAIL_HOST = os.environ.get("LAOJIAN_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("LAOJIAN_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("LAOJIAN_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("LAOJIAN_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("LAOJIAN_EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("LAOJIAN_EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("LAOJIAN_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("LAOJIAN_EMAIL_FROM", "laojian@localhost")

# DOMAIN DEFAULTS (each committee can override its own in the admin) --------------------------------
LAOJIAN_DEMO_PASSWORD = os.environ.get("LAOJIAN_DEMO_PASSWORD", "laojian-demo-2026")
