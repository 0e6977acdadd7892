"""Settings of the sample resource server: a separate Django project with no database.

It trusts Signet only through discovery and the JWKS over HTTP, so everything it knows about the
provider comes from RESOURCE_ISSUER (and, where the network path differs, RESOURCE_DISCOVERY_URL).
Every variable is listed in the README's "The sample API" table. Secrets and the issuer have no
default outside DEBUG: a missing one stops start-up with its name.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from sample_api.tokens import ASYMMETRIC_ALGORITHMS

BASE_DIR = Path(__file__).resolve().parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)


def _required(name, debug_default):
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return debug_default
    raise ImproperlyConfigured(f"Set the {name} environment variable (required unless DEBUG=true).")


SECRET_KEY = _required("SECRET_KEY", "insecure-sample-api-development-secret-key-do-not-use")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])

# --- The provider this API trusts --------------------------------------------------------
# The exact issuer: tokens must carry it as `iss`, and discovery must name it.
RESOURCE_ISSUER = _required("RESOURCE_ISSUER", "http://127.0.0.1:8000").rstrip("/")
# Where this process fetches discovery when the provider is reached by another name than its
# public issuer (docker-compose: http://provider:8000/...). Server-to-server calls (JWKS, token
# endpoint) then go to that base; browser redirects keep the public URLs.
RESOURCE_DISCOVERY_URL = env.str("RESOURCE_DISCOVERY_URL", default="")
# This API's identifier: access tokens must carry it in `aud`.
RESOURCE_AUDIENCE = _required("RESOURCE_AUDIENCE", "http://127.0.0.1:8001")
# Asymmetric algorithms only: a symmetric one would let anyone holding the public key forge tokens.
# The default is every algorithm Signet signs with; a token is accepted only in one of these that the
# provider's discovery also advertises (jwks.JWKSClient.accepted_algorithms).
RESOURCE_ALGORITHMS = env.list("RESOURCE_ALGORITHMS", default=["RS256", "ES256", "EdDSA"])
RESOURCE_LEEWAY_SECONDS = env.int("RESOURCE_LEEWAY_SECONDS", default=30)
# Tokens each process keeps as verified until they expire (sample_api/verified.py); 0: verify every time.
RESOURCE_VERIFIED_TOKENS = env.int("RESOURCE_VERIFIED_TOKENS", default=4096)
# Scopes the sample endpoints demand.
RESOURCE_READ_SCOPE = env.str("RESOURCE_READ_SCOPE", default="profile")
RESOURCE_WRITE_SCOPE = env.str("RESOURCE_WRITE_SCOPE", default="notes:write")
# The group whose members alone may call /admin-only/ (the access token's `groups` claim).
RESOURCE_REQUIRED_GROUP = env.str("RESOURCE_REQUIRED_GROUP", default="admins")

# --- JWKS cache ---------------------------------------------------------------------------
# The provider's Cache-Control max-age, clamped to [floor, ceiling].
RESOURCE_JWKS_MIN_TTL = env.int("RESOURCE_JWKS_MIN_TTL", default=60)
RESOURCE_JWKS_MAX_TTL = env.int("RESOURCE_JWKS_MAX_TTL", default=3600)
# At most one refetch per cooldown for unknown kids (and one retry per cooldown while unreachable).
RESOURCE_JWKS_COOLDOWN = env.int("RESOURCE_JWKS_COOLDOWN", default=30)
RESOURCE_HTTP_TIMEOUT = env.float("RESOURCE_HTTP_TIMEOUT", default=3.0)

# --- Sample browser login (a confidential client registered at the provider) ---------------
RESOURCE_CLIENT_ID = env.str("RESOURCE_CLIENT_ID", default="")
RESOURCE_CLIENT_SECRET = env.str("RESOURCE_CLIENT_SECRET", default="")
RESOURCE_LOGIN_SCOPES = env.str("RESOURCE_LOGIN_SCOPES", default="openid profile email")

_ASYMMETRIC = ASYMMETRIC_ALGORITHMS  # tokens.py refuses any other, whatever this list says
if not RESOURCE_ALGORITHMS or not set(RESOURCE_ALGORITHMS) <= _ASYMMETRIC:
    raise ImproperlyConfigured(
        f"RESOURCE_ALGORITHMS must list asymmetric algorithms only (from {', '.join(sorted(_ASYMMETRIC))})."
    )
if not 0 <= RESOURCE_JWKS_MIN_TTL <= RESOURCE_JWKS_MAX_TTL:
    raise ImproperlyConfigured("Need 0 <= RESOURCE_JWKS_MIN_TTL <= RESOURCE_JWKS_MAX_TTL.")
if RESOURCE_VERIFIED_TOKENS < 0:
    raise ImproperlyConfigured("RESOURCE_VERIFIED_TOKENS must be >= 0.")
if RESOURCE_JWKS_COOLDOWN < 0 or RESOURCE_HTTP_TIMEOUT <= 0:
    raise ImproperlyConfigured("RESOURCE_JWKS_COOLDOWN must be >= 0 and RESOURCE_HTTP_TIMEOUT > 0.")

# --- Django -------------------------------------------------------------------------------
# No database at all: users come from token claims, the login's state lives in cache sessions.
DATABASES = {}
INSTALLED_APPS = [
    "rest_framework",
    "drf_spectacular",
    "sample_api.apps.SampleApiConfig",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "sample_api.urls"
WSGI_APPLICATION = "sample_api.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# locmemcache:// by default (one process); a redis URL (rediscache://host:6379/1) when several
# workers must share the login sessions.
CACHES = {"default": env.cache_url("RESOURCE_CACHE_URL", default="locmemcache://")}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)
# The provider runs on the same host in development and cookies ignore ports: distinct names keep
# the two sessions from overwriting each other.
SESSION_COOKIE_NAME = "sample_api_session"
CSRF_COOKIE_NAME = "sample_api_csrftoken"
_secure_cookies = env.bool("RESOURCE_SECURE_COOKIES", default=RESOURCE_AUDIENCE.startswith("https://"))
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with form posts, which
# Django's CSRF check refuses (the sign-out form). Other origins still never see a Referer.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["sample_api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "sample_api.errors.bearer_exception_handler",
    # No django.contrib.auth: request.user is a TokenUser or None.
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Signet sample API",
    "DESCRIPTION": "A resource server that verifies Signet's RFC 9068 access tokens offline.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
