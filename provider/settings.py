"""Signet settings: the only module that reads the environment.

Every variable is listed with its default in .env.example and the README.
Secrets have no default outside DEBUG: a missing one stops start-up with its name.
"""

import logging
import os
import re
from collections.abc import MutableMapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy

from keys import kek

BASE_DIR = Path(__file__).resolve().parent.parent


class _SetVariables(MutableMapping):
    """os.environ without its empty variables: `NAME=` (as .env.example lists most) means unset.

    Without this a copied .env.example would set OIDC_ISSUER to "" and every default would be lost.
    A .env value also fills a variable the environment has but left empty. Any variable may instead
    come from a file, NAME_FILE=/path (Docker and Kubernetes secrets), never from both.
    """

    def __getitem__(self, name):
        value = os.environ.get(name, "")
        path = os.environ.get(f"{name}_FILE", "").strip()
        if path:
            if value.strip():
                raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
            value = _read_file(name, path)
        if not value.strip():
            raise KeyError(name)
        return value

    def __setitem__(self, name, value):
        os.environ[name] = value

    def __delitem__(self, name):
        del os.environ[name]

    def __iter__(self):
        return (name for name, value in os.environ.items() if value.strip())

    def __len__(self):
        return sum(1 for _ in self)


def _read_file(name, path):
    """NAME_FILE's content, without the line break that `echo` and editors leave at its end."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().removesuffix("\n").removesuffix("\r")
    except OSError as e:
        raise ImproperlyConfigured(f"{name}_FILE: cannot read {path} ({e.strerror}).") from None


class _Env(environ.Env):
    ENVIRON = _SetVariables()


env = _Env()
if env.bool("SIGNET_READ_DOT_ENV", default=True) and (BASE_DIR / ".env").is_file():
    _Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)


def _required(name, debug_default):
    """A secret: required in production, a fixed development value under DEBUG."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return debug_default
    raise ImproperlyConfigured(f"Set the {name} environment variable (required unless DEBUG=true).")


SECRET_KEY = _required("SECRET_KEY", "insecure-development-secret-key-do-not-use-in-production")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# The exact issuer URL. Every advertised endpoint and every `iss` claim derive from it.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="http://127.0.0.1:8000" if DEBUG else "").rstrip("/")
if not OIDC_ISSUER:
    raise ImproperlyConfigured("Set the OIDC_ISSUER environment variable (required unless DEBUG=true).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin, its index in Signet's sections (provider/admin_site.py).
    "provider.admin_site.SignetAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "axes",
    "csp",
    # The task queue (provider/tasks.py): Django's task framework (DEP 14) and its database backend.
    # provider.worker first: its `db_worker` replaces django_tasks_db's (it also requeues the tasks of
    # a dead worker).
    "provider.worker",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "keys",
    "provider.oidc",
    "provider.audit",
    "provider.apps.SignetConfig",
]

MIDDLEWARE = [
    # First: gives every request its id and logs one line per answered request.
    "provider.middleware.RequestLogMiddleware",
    # Token, introspection, revocation, userinfo, JWKS and discovery leave here: their views are called
    # inside SIGNET_LEAN_MIDDLEWARE only (provider/lanes.py). Everything below is for the other pages.
    "provider.lanes.LeanLaneMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the authorization request's ui_locales, else Accept-Language (provider/locale.py).
    "provider.locale.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in browser's sign-in record: last seen, at most once a minute (accounts/session_records.py).
    "accounts.session_records.SignInSeenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "provider.ratelimit.RateLimitMiddleware",
    # Gives a password-grant sign-in that met a lock the lock's JSON error (accounts/lockout.py).
    "accounts.lockout.LockoutMiddleware",
    # Last, as django-axes requires: turns a lockout into the lockout page or JSON error.
    "axes.middleware.AxesMiddleware",
]
# The machine endpoints' chain: no session, CSRF, user, messages, static files, CSP or framing rules
# (their callers are programs sending no cookies, and JSON is neither rendered nor framed).
SIGNET_LEAN_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "provider.ratelimit.RateLimitMiddleware",
    # The password grant's lockout answer, whichever request object its view authenticated.
    "accounts.lockout.LockoutMiddleware",
    "provider.lanes.LockoutAnswerMiddleware",
]

ROOT_URLCONF = "provider.urls"
WSGI_APPLICATION = "provider.wsgi.application"

# --- Branding ------------------------------------------------------------------------------
# The name, logo and colour every page, email and the admin header show (provider/branding.py).
SIGNET_SITE_NAME = env.str("SIGNET_SITE_NAME", default="Signet").strip()
# How users reach the operator (an email address or a URL), shown where Signet refuses them access.
SIGNET_OPERATOR_CONTACT = env.str("SIGNET_OPERATOR_CONTACT", default="").strip()
SIGNET_PRIMARY_COLOR = env.str("SIGNET_PRIMARY_COLOR", default="#1f4fc7").strip()
if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", SIGNET_PRIMARY_COLOR):
    raise ImproperlyConfigured(
        f"SIGNET_PRIMARY_COLOR must be a CSS hex colour such as #1f4fc7, not {SIGNET_PRIMARY_COLOR!r}."
    )
# A path on this site, an https URL (its origin joins the CSP's img-src) or a data:image/ URL.
SIGNET_LOGO_URL = env.str("SIGNET_LOGO_URL", default="").strip()
_logo = urlsplit(SIGNET_LOGO_URL)
if _logo.scheme == "https" and _logo.netloc:
    _logo_origins = [f"https://{_logo.netloc}"]
elif (
    not SIGNET_LOGO_URL
    or SIGNET_LOGO_URL.startswith("data:image/")
    or (SIGNET_LOGO_URL.startswith("/") and not SIGNET_LOGO_URL.startswith("//"))
):
    _logo_origins = []
else:
    raise ImproperlyConfigured(
        "SIGNET_LOGO_URL must be a path on this site (/static/...), an https:// URL or a data:image/ URL."
    )
# Templates found here replace Signet's own of the same name (README: Branding and languages).
SIGNET_TEMPLATES_DIR = env.str("SIGNET_TEMPLATES_DIR", default="").strip()
if SIGNET_TEMPLATES_DIR and not Path(SIGNET_TEMPLATES_DIR).is_dir():
    raise ImproperlyConfigured(f"SIGNET_TEMPLATES_DIR is not a folder: {SIGNET_TEMPLATES_DIR}")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [*([Path(SIGNET_TEMPLATES_DIR)] if SIGNET_TEMPLATES_DIR else []), BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "provider.branding.branding",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'signet.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A transaction takes SQLite's write lock when it begins, so two writers queue (for up to
    # `timeout` seconds) instead of one failing with "database is locked": with SQLite's default
    # (DEFERRED), two requests racing for one authorization code or device code both read, and the
    # one upgrading its lock second was refused at once.
    _sqlite_options = DATABASES["default"].setdefault("OPTIONS", {})
    _sqlite_options.setdefault("transaction_mode", "IMMEDIATE")
    _sqlite_options.setdefault("timeout", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                # The cache is an optimisation: a Redis outage must not take logins down.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, as django-axes requires: refuses locked-out accounts and addresses before any password check.
    "accounts.backends.LoginProtectionBackend",
    "accounts.backends.EmailBackend",
]
# Argon2id cost (accounts/hashers.py): OWASP's recommended minimum, 19 MiB, 2 passes, 1 lane.
SIGNET_ARGON2_MEMORY_KIB = env.int("SIGNET_ARGON2_MEMORY_KIB", default=19456)
SIGNET_ARGON2_TIME_COST = env.int("SIGNET_ARGON2_TIME_COST", default=2)
SIGNET_ARGON2_PARALLELISM = env.int("SIGNET_ARGON2_PARALLELISM", default=1)
PASSWORD_HASHERS = [
    # Replaces Django's Argon2PasswordHasher (same algorithm name: both in the list would clash).
    "accounts.hashers.SignetArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Only for client secrets (see provider/oidc/hashers.py); never chosen for passwords.
    "provider.oidc.hashers.ClientSecretHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Multi-factor sign-in (accounts/mfa_policy.py): "optional" lets each user choose (and each client ask,
# Client.require_mfa); "required" asks everyone for a second factor, enrolling those without one.
SIGNET_MFA = env.str("SIGNET_MFA", default="optional").strip().lower()
if SIGNET_MFA not in ("optional", "required"):
    raise ImproperlyConfigured(f"SIGNET_MFA must be optional or required, not {SIGNET_MFA!r}.")
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "accounts:login"

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
_https_issuer = OIDC_ISSUER.startswith("https://")


def _flag(value, default):
    """A boolean whose default depends on other settings: empty (as .env.example leaves it) is the default.

    env.bool would read an empty value as false, so a copied .env.example would turn secure cookies
    and the https redirect off for an https issuer.
    """
    return default if not value.strip() else env.parse_value(value.strip(), bool)


_secure_cookies = _flag(env.str("SIGNET_SECURE_COOKIES", default=""), _https_issuer)
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with form posts and
# Django's CSRF check refuses every sign-in. Nothing (no authorize URL, no code) leaks to other sites.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# HTTPS: HSTS, and plain-HTTP requests redirected, when the issuer is https (the probes stay reachable
# over plain HTTP for in-cluster health checks).
SECURE_HSTS_SECONDS = env.int("SIGNET_HSTS_SECONDS", default=60 * 60 * 24 * 365 if _https_issuer else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SIGNET_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SIGNET_HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = _flag(env.str("SIGNET_SSL_REDIRECT", default=""), _https_issuer)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
if env.bool("SIGNET_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Trusted reverse proxies in front of Signet: the client address is read from X-Forwarded-For
# that many hops from the right (provider/context.py). 0: REMOTE_ADDR.
SIGNET_PROXY_COUNT = env.int("SIGNET_PROXY_COUNT", default=0)
# Lockouts and rate limits count an IPv6 client by this prefix of its address (provider/context.py).
SIGNET_IPV6_PREFIX_LENGTH = env.int("SIGNET_IPV6_PREFIX_LENGTH", default=64)
if not 0 <= SIGNET_IPV6_PREFIX_LENGTH <= 128:
    raise ImproperlyConfigured("SIGNET_IPV6_PREFIX_LENGTH must be between 0 and 128.")

# A strict Content-Security-Policy: pages load only Signet's own CSS (and the admin's own scripts).
# No form-action: browsers apply it to the redirect after a form post, which must reach the relying
# party's registered redirect URI after consent and logout.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_logo_origins],
        "font-src": [SELF],
        "connect-src": [SELF],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

# --- Brute-force protection (django-axes) and rate limits ----------------------------------
# Failures within SIGNET_LOGIN_LOCKOUT_MINUTES count (accounts/lockout.py): SIGNET_LOGIN_FAILURE_LIMIT
# for one account from one address lock that pair; SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT from one address,
# for any accounts, lock the address; a lock lifts that long after its last failure (0: only an operator
# unlocks, with `manage.py axes_reset_username EMAIL` / `axes_reset_ip IP` / `axes_reset`).
# SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT for one account from anywhere only slow it down: each further
# attempt waits 1, 2, 4... seconds after the last failure, at most SIGNET_LOGIN_ACCOUNT_MAX_DELAY_SECONDS.
SIGNET_LOGIN_FAILURE_LIMIT = env.int("SIGNET_LOGIN_FAILURE_LIMIT", default=5)
SIGNET_LOGIN_LOCKOUT_MINUTES = env.int("SIGNET_LOGIN_LOCKOUT_MINUTES", default=15)
# 20 pairs' worth: an office or campus NAT stays open through its people's typing mistakes, while one
# address spraying passwords over many accounts gets 100 guesses per window, not unlimited. 0: off.
SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT", default=100)
SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT = env.int("SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT", default=10)
SIGNET_LOGIN_ACCOUNT_MAX_DELAY_SECONDS = env.int("SIGNET_LOGIN_ACCOUNT_MAX_DELAY_SECONDS", default=300)
AXES_ENABLED = env.bool("SIGNET_LOGIN_PROTECTION", default=True)
AXES_HANDLER = "accounts.lockout.LoginLockoutHandler"
AXES_FAILURE_LIMIT = SIGNET_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=SIGNET_LOGIN_LOCKOUT_MINUTES) if SIGNET_LOGIN_LOCKOUT_MINUTES else None
# django-axes locks the (account, address) pair; the handler adds the address lock and the throttle.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Attempts refused by a lock are not counted, so that hammering a lock does not keep it on.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "provider.context.limit_key"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# A success must not clear the counters: an attacker would sign in to their own account between guesses.
AXES_RESET_ON_SUCCESS = False
AXES_HTTP_RESPONSE_CODE = 429
# Never store these request parameters in the attempt records (the admin shows them).
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "ip_address",
    "password",
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "csrfmiddlewaretoken",
    "next",
]


def _rate(name, default):
    """A rate ("N/s", "N/m", "N/h") or "" for none. `off` turns a limit off: an empty value, as in a
    copied .env.example, means unset and keeps the default."""
    value = env.str(name, default=default).strip()
    return "" if value.lower() == "off" else value


# Rate limits per client address, counted in the cache (shared between workers only with REDIS_URL;
# `check --deploy` warns otherwise).
SIGNET_RATELIMIT_TOKEN = _rate("SIGNET_RATELIMIT_TOKEN", "1200/m")
SIGNET_RATELIMIT_INTROSPECT = _rate("SIGNET_RATELIMIT_INTROSPECT", "3000/m")
# Password-reset links asked for per client address, and per target email (accounts/services.py).
SIGNET_RATELIMIT_PASSWORD_RESET = _rate("SIGNET_RATELIMIT_PASSWORD_RESET", "5/h")
SIGNET_RATELIMIT_PASSWORD_RESET_EMAIL = _rate("SIGNET_RATELIMIT_PASSWORD_RESET_EMAIL", "3/h")
# Wrong user codes typed on /device, per client address and per browser session (RFC 8628 5.1).
SIGNET_RATELIMIT_DEVICE_CODE = _rate("SIGNET_RATELIMIT_DEVICE_CODE", "10/m")
# Registrations at /register per client address when SIGNET_REGISTRATION=open.
SIGNET_RATELIMIT_REGISTRATION = _rate("SIGNET_RATELIMIT_REGISTRATION", "10/h")
# A cache outage must not take the token endpoint down with it.
RATELIMIT_FAIL_OPEN = True

# The shipped translations (locale/): discovery's ui_locales_supported lists exactly these.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="signet@localhost")

# --- Token lifetimes (seconds) -------------------------------------------------------------
SIGNET_ACCESS_TOKEN_LIFETIME = env.int("SIGNET_ACCESS_TOKEN_LIFETIME", default=600)
SIGNET_ID_TOKEN_LIFETIME = env.int("SIGNET_ID_TOKEN_LIFETIME", default=600)
SIGNET_AUTHORIZATION_CODE_LIFETIME = env.int("SIGNET_AUTHORIZATION_CODE_LIFETIME", default=60)
# RFC 8628 3.2: how long a device code and its user code live, and the polling interval given out.
SIGNET_DEVICE_CODE_LIFETIME = env.int("SIGNET_DEVICE_CODE_LIFETIME", default=600)
SIGNET_DEVICE_CODE_INTERVAL = env.int("SIGNET_DEVICE_CODE_INTERVAL", default=5)
SIGNET_REFRESH_TOKEN_IDLE_LIFETIME = env.int("SIGNET_REFRESH_TOKEN_IDLE_LIFETIME", default=60 * 60 * 24 * 30)
SIGNET_DEFAULT_AUDIENCE = env.str("SIGNET_DEFAULT_AUDIENCE", default="")
# Absolute end of a refresh-token family however often it is used: with offline_access, and
# without it (then no longer than a sign-in session).
SIGNET_REFRESH_TOKEN_MAX_LIFETIME = env.int("SIGNET_REFRESH_TOKEN_MAX_LIFETIME", default=60 * 60 * 24 * 90)
SIGNET_REFRESH_TOKEN_ONLINE_LIFETIME = env.int("SIGNET_REFRESH_TOKEN_ONLINE_LIFETIME", default=60 * 60 * 12)
# Rows deleted per statement by `manage.py purge_tokens` (each batch its own short transaction).
SIGNET_PURGE_BATCH_SIZE = env.int("SIGNET_PURGE_BATCH_SIZE", default=1000)
# How long a worker keeps a client it loaded (provider/oidc/client_cache.py); 0: read every time.
SIGNET_CLIENT_CACHE_SECONDS = env.int("SIGNET_CLIENT_CACHE_SECONDS", default=5)
# Issued tokens are a JSON log line ("token.issued"); true also stores an audit row per token.
SIGNET_AUDIT_TOKEN_ROWS = env.bool("SIGNET_AUDIT_TOKEN_ROWS", default=False)

# --- Task queue (provider/tasks.py, README "Sessions and back-channel logout") ----------------
# "database": tasks are rows in the project's database, run by `manage.py db_worker` (the worker
# container; `./dev run` starts one). "immediate": run where they are enqueued, inside the request
# (the test suite's default: tests of the queue itself choose the database preset).
SIGNET_TASKS_BACKEND = env.str("SIGNET_TASKS_BACKEND", default="database").strip().lower()
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if SIGNET_TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"SIGNET_TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[SIGNET_TASKS_BACKEND]}}
# A task RUNNING for longer than this was left by a worker that died (killed mid-task): `db_worker`
# queues it again (provider/tasks.py). Longer than any task may take (a logout POST's timeout).
SIGNET_TASKS_STALE_SECONDS = env.int("SIGNET_TASKS_STALE_SECONDS", default=300)
if SIGNET_TASKS_STALE_SECONDS <= 0:
    raise ImproperlyConfigured("SIGNET_TASKS_STALE_SECONDS must be > 0")
# Back-channel logout (OpenID Connect Back-Channel Logout 1.0): seconds one POST to a client may
# take, how many attempts a logout token gets, and the wait before the second (doubling after).
SIGNET_BACKCHANNEL_TIMEOUT_SECONDS = env.int("SIGNET_BACKCHANNEL_TIMEOUT_SECONDS", default=5)
SIGNET_BACKCHANNEL_ATTEMPTS = env.int("SIGNET_BACKCHANNEL_ATTEMPTS", default=5)
SIGNET_BACKCHANNEL_RETRY_SECONDS = env.int("SIGNET_BACKCHANNEL_RETRY_SECONDS", default=30)
_backchannel_minimums = (SIGNET_BACKCHANNEL_TIMEOUT_SECONDS, SIGNET_BACKCHANNEL_ATTEMPTS)
if min(_backchannel_minimums) < 1 or SIGNET_BACKCHANNEL_RETRY_SECONDS < 0:
    raise ImproperlyConfigured(
        "SIGNET_BACKCHANNEL_TIMEOUT_SECONDS and SIGNET_BACKCHANNEL_ATTEMPTS must be at least 1, "
        "SIGNET_BACKCHANNEL_RETRY_SECONDS at least 0"
    )

# --- Metrics (provider/metrics/, README "Metrics") ------------------------------------------
# /metrics in Prometheus' text format; off answers 404 as if it did not exist.
SIGNET_METRICS = env.bool("SIGNET_METRICS", default=False)
# A bearer secret the scraper sends (Authorization: Bearer ...). Without one, only a direct connection
# from this machine's loopback (no proxy header) may scrape.
SIGNET_METRICS_TOKEN = env.str("SIGNET_METRICS_TOKEN", default="")
if SIGNET_METRICS_TOKEN and len(SIGNET_METRICS_TOKEN) < 24:
    raise ImproperlyConfigured(
        "SIGNET_METRICS_TOKEN must be at least 24 characters: "
        "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    )
# prometheus_client's own variable (it reads it at import): each worker process writes its counters
# to a file there and /metrics sums them. provider/gunicorn_conf.py sets it for gunicorn's workers.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
if not PROMETHEUS_MULTIPROC_DIR:
    # Empty means unset, as for every variable here: prometheus_client would take "" for a folder.
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
elif not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR is not a folder: {PROMETHEUS_MULTIPROC_DIR}")

# --- Signing keys -------------------------------------------------------------------------
# 32 random bytes, base64: anything else stops start-up with one line saying how to generate one
# (keys/kek.py). An earlier value of any shape may stay in the fallbacks until `keys reencrypt`.
SIGNET_KEY_ENCRYPTION_KEY = kek.required(_required("SIGNET_KEY_ENCRYPTION_KEY", kek.DEVELOPMENT_KEY))
SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = env.list("SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS", default=[])
SIGNET_KEY_SIZE = env.int("SIGNET_KEY_SIZE", default=2048)
# The algorithms the key ring keeps a key for (one active key each, rotated on the same schedule).
# RS256 always: OIDC Core 15.1 requires every OpenID Provider to sign ID tokens with it.
SIGNET_SIGNING_ALGS = tuple(dict.fromkeys(env.list("SIGNET_SIGNING_ALGS", default=["RS256"])))
if unknown := [a for a in SIGNET_SIGNING_ALGS if a not in ("RS256", "ES256", "EdDSA")]:
    raise ImproperlyConfigured(
        f"SIGNET_SIGNING_ALGS: unknown algorithm(s) {', '.join(unknown)}; choose from RS256, ES256, EdDSA"
    )
if "RS256" not in SIGNET_SIGNING_ALGS:
    raise ImproperlyConfigured("SIGNET_SIGNING_ALGS must include RS256 (OpenID Connect Core 15.1)")
SIGNET_KEY_ROTATION_DAYS = env.int("SIGNET_KEY_ROTATION_DAYS", default=90)
SIGNET_KEY_PREPUBLISH_SECONDS = env.int("SIGNET_KEY_PREPUBLISH_SECONDS", default=60 * 60 * 24)
SIGNET_JWKS_MAX_AGE = env.int("SIGNET_JWKS_MAX_AGE", default=600)
# How often a worker re-reads the key set's version stamp from the database.
SIGNET_KEY_RELOAD_SECONDS = env.int("SIGNET_KEY_RELOAD_SECONDS", default=5)
# Clock skew allowed when deciding a retired key's tokens have all expired.
SIGNET_KEY_RETENTION_LEEWAY_SECONDS = env.int("SIGNET_KEY_RETENTION_LEEWAY_SECONDS", default=300)

# --- OAuth engine (django-oauth-toolkit) ---------------------------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "oidc.Client"
OAUTH2_PROVIDER_GRANT_MODEL = "oidc.AuthorizationCode"
# DOT's own model, named so migrations can point a foreign key at it (swappable dependency).
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"

SIGNET_HTTP_REDIRECT_URIS = _flag(env.str("SIGNET_HTTP_REDIRECT_URIS", default=""), DEBUG)
# A private_key_jwt client's jwks_uri may resolve to a private, loopback or link-local address (SSRF
# guard off: a provider and its clients on one private network; tests).
SIGNET_ALLOW_PRIVATE_JWKS_URI = env.bool("SIGNET_ALLOW_PRIVATE_JWKS_URI", default=False)
# Dynamic client registration at /register (RFC 7591/7592): off; token (an initial access token an
# operator minted with `manage.py clients registration-token`); open (anyone, public clients only).
SIGNET_REGISTRATION = env.str("SIGNET_REGISTRATION", default="off").strip().lower() or "off"
if SIGNET_REGISTRATION not in ("off", "token", "open"):
    raise ImproperlyConfigured("SIGNET_REGISTRATION must be off, token or open.")
# Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client_id that is an
# https URL names a JSON document Signet fetches and registers the client from (metadata_documents.py).
# Off by default: anyone who can publish a document can then start sign-ins without an operator.
SIGNET_CIMD = env.bool("SIGNET_CIMD", default=False)
# A document URL may resolve to a private, loopback or link-local address (SSRF guard off). Its own
# switch, not SIGNET_ALLOW_PRIVATE_JWKS_URI's: a jwks_uri is typed by an operator or a registered
# client, a document URL by anyone who opens /authorize, so allowing one must not allow the other.
SIGNET_CIMD_ALLOW_PRIVATE = env.bool("SIGNET_CIMD_ALLOW_PRIVATE", default=False)

# Descriptions as the consent page shows them, in the page's language.
SIGNET_SCOPES = {
    "openid": gettext_lazy("Sign you in"),
    "profile": gettext_lazy("See your name and profile"),
    "email": gettext_lazy("See your email address"),
    "offline_access": gettext_lazy("Stay signed in to this app when you are not using it"),
    "groups": gettext_lazy("See which groups you belong to"),
}

# DOT serves RP-initiated logout, and is the data model and admin of clients and codes; the
# authorization, token, introspection, revocation and userinfo endpoints are Signet's own, so no
# oauthlib validator, scopes backend or PKCE policy is configured here (policy.py, scopes.py decide).
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": OIDC_ISSUER,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "CLIENT_SECRET_HASHER": "signet_sha256",
    # Signet's refresh grant rotates and detects reuse itself (provider/oidc/grants/refresh_token.py);
    # these say so to DOT's RFC 9700 system checks, which read them.
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": True,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    # RP-Initiated Logout 2: a verified id_token_hint of this session's user needs no confirmation.
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    # Logout ends the browser session and that sign-in's refresh tokens without offline_access
    # (provider/oidc/session_end.py). DOT would delete every token of the user at every client,
    # offline_access ones included; those are revoked from the consents page or /revoke.
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
    # RFC 9700 (OAuth 2.0 Security BCP): adopt every compliant behaviour DOT offers.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    # RFC 9700 2.4: refused everywhere; Signet's token endpoint (provider/oidc/grants/password.py)
    # allows it only for a client an operator registered with the password grant.
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    # RFC 9700 2.1: https redirect URIs only, unless SIGNET_HTTP_REDIRECT_URIS allows http (loopback
    # callbacks of native apps, RFC 8252 7.3, and local development).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"] if SIGNET_HTTP_REDIRECT_URIS else ["https"],
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# json: one object per line (production); text: readable lines (the default under DEBUG).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or text.")
# Servers log to stdout; manage.py commands default to stderr so their own output stays parseable.
LOG_STREAM = env.str("LOG_STREAM", default="stdout")
if LOG_STREAM not in ("stdout", "stderr"):
    raise ImproperlyConfigured("LOG_STREAM must be stdout or stderr.")
# oauthlib and DOT log request contents at DEBUG: never below INFO, whatever LOG_LEVEL says.
_library_level = max(logging.getLevelName(LOG_LEVEL), logging.INFO)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "provider.logging.JsonFormatter"},
        "text": {"()": "provider.logging.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": f"ext://sys.{LOG_STREAM}",
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "oauthlib": {"level": _library_level},
        "oauth2_provider": {"level": _library_level},
        # django-axes reports every attempt at INFO; Signet's audit events already record them.
        "axes": {"level": "WARNING"},
        "signet.audit": {"level": "INFO"},
    },
}

# Emails are unique without regard to case through a functional constraint (accounts.User.Meta),
# which this check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
