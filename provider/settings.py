"""Signet settings: the only module that reads the environment.

Every variable is listed with its default in .env.example and the README.
Secrets have no default outside DEBUG: a missing one stops start-up with its name.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("SIGNET_READ_DOT_ENV", default=True) and (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "accounts",
    "keys",
    "provider.oidc",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "provider.urls"
WSGI_APPLICATION = "provider.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'signet.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
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
AUTHENTICATION_BACKENDS = ["accounts.backends.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
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
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "accounts:login"

SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
_secure_cookies = env.bool("SIGNET_SECURE_COOKIES", default=OIDC_ISSUER.startswith("https://"))
SESSION_COOKIE_SECURE = _secure_cookies
CSRF_COOKIE_SECURE = _secure_cookies
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
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
SIGNET_REFRESH_TOKEN_IDLE_LIFETIME = env.int("SIGNET_REFRESH_TOKEN_IDLE_LIFETIME", default=60 * 60 * 24 * 30)
SIGNET_DEFAULT_AUDIENCE = env.str("SIGNET_DEFAULT_AUDIENCE", default="")

# --- Signing keys -------------------------------------------------------------------------
SIGNET_KEY_ENCRYPTION_KEY = _required(
    "SIGNET_KEY_ENCRYPTION_KEY", "insecure-development-key-encryption-key-derived-for-debug"
)
SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS = env.list("SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS", default=[])
SIGNET_KEY_SIZE = env.int("SIGNET_KEY_SIZE", default=2048)
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

SIGNET_SCOPES = {
    "openid": "Sign you in",
    "profile": "See your name and profile",
    "email": "See your email address",
    "offline_access": "Stay signed in to this app when you are not using it",
}

OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": OIDC_ISSUER,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OAUTH2_VALIDATOR_CLASS": "provider.oidc.validators.SignetValidator",
    "CLIENT_SECRET_HASHER": "signet_sha256",
    "ACCESS_TOKEN_GENERATOR": "provider.oidc.tokens.signed_access_token",
    # Without this oauthlib reuses the access-token generator, making refresh tokens JWTs.
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "SCOPES": SIGNET_SCOPES,
    "SCOPES_BACKEND_CLASS": "provider.oidc.scopes.ClientScopes",
    "DEFAULT_SCOPES": ["openid"],
    "ACCESS_TOKEN_EXPIRE_SECONDS": SIGNET_ACCESS_TOKEN_LIFETIME,
    "ID_TOKEN_EXPIRE_SECONDS": SIGNET_ID_TOKEN_LIFETIME,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": SIGNET_AUTHORIZATION_CODE_LIFETIME,
    "REFRESH_TOKEN_EXPIRE_SECONDS": SIGNET_REFRESH_TOKEN_IDLE_LIFETIME,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": "provider.oidc.policy.pkce_required",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": True,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    # RFC 9700 (OAuth 2.0 Security BCP): adopt every compliant behaviour DOT offers.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "REQUEST_APPROVAL_PROMPT": "force",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "signet.audit": {"level": "INFO"},
    },
}

# Emails are unique without regard to case through a functional constraint (accounts.User.Meta),
# which this check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
