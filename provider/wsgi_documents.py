"""Discovery and the JWKS, answered at the WSGI layer from their prepared bytes.

Relying parties and resource servers fetch these two documents more than anything else, and their
answer is a few hundred bytes prepared once per key-ring version (provider/prepared.py). Through
Django's handler each one paid for a request object, URL resolution, the lean chain and the request
signals: most of its cost, for bytes that were ready. WhiteNoise serves static files the same way,
before Django.

Only the plain case is answered here: GET or HEAD of exactly one of the documents' paths, from an
allowed host, with no HTTPS redirect due. The response is the one Django gives (the same body, ETag,
If-None-Match handling, caching and security headers, X-Request-ID), and the request gets the same log
line and metrics. Everything else, odd or not, goes to Django as before.
"""

import logging
import time

from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import reverse

from provider import metrics, middleware, prepared

log = logging.getLogger("signet.request")

_SAFE = ("GET", "HEAD")
_STATUS = {200: "200 OK", 304: "304 Not Modified"}


def _jwks():
    from keys.views import jwks_max_age, prepared_jwks

    return prepared_jwks(), "application/jwk-set+json", f"public, max-age={jwks_max_age()}"


def _discovery():
    from provider.oidc.discovery import CACHE_CONTROL, prepared_metadata

    return prepared_metadata(), "application/json", CACHE_CONTROL


# URL name → what it answers with; the paths are looked up once, from the URLconf.
DOCUMENTS = {
    "oauth2_provider:jwks-info": _jwks,
    "oauth2_provider:oidc-connect-discovery-info": _discovery,
    "oauth2_provider:oauth-server-metadata": _discovery,
}


class _Meta:
    """What context.client_ip reads of a request: its META, here the WSGI environ itself."""

    __slots__ = ("META",)

    def __init__(self, environ):
        self.META = environ


class PreparedDocuments:
    """WSGI middleware: the documents' plain requests answered here, every other one by `app`."""

    def __init__(self, app):
        self.app = app
        self._routes = None

    def routes(self):
        if self._routes is None:
            self._routes = {reverse(name): (name, answer) for name, answer in DOCUMENTS.items()}
        return self._routes

    def __call__(self, environ, start_response):
        route = self.routes().get(environ.get("PATH_INFO"))
        if route is None or environ.get("REQUEST_METHOD") not in _SAFE or not _plain(environ):
            return self.app(environ, start_response)
        name, answer = route
        started = time.perf_counter()
        try:
            document, content_type, cache_control = answer()
        except Exception:  # noqa: BLE001 - answered by Django instead
            # Reading the key ring can meet a broken database connection. Django's handler checks its
            # connections before a request (the request signals, which this layer does not send) and
            # answers any error in its own shape: it takes the request over.
            return self.app(environ, start_response)
        request_id, ip, tokens = middleware.request_began(_Meta(environ))
        try:
            if prepared.matches(environ.get("HTTP_IF_NONE_MATCH"), document.etag):
                status, body = 304, b""
                headers = [("ETag", document.etag)]
            else:
                status, body = 200, document.body
                headers = [("Content-Type", content_type), ("ETag", document.etag)]
            headers += [("Cache-Control", cache_control), ("Access-Control-Allow-Origin", "*")]
            headers += _security_headers(environ)
            headers += [("Content-Length", str(len(body))), ("X-Request-ID", request_id)]
            elapsed = time.perf_counter() - started
            metrics.document_answered(name, status, elapsed)
            middleware.log_answered(environ["REQUEST_METHOD"], environ["PATH_INFO"], status, elapsed, ip)
        finally:
            middleware.request_ended(tokens)
        start_response(_STATUS[status], headers)
        return [body]


def _plain(environ):
    """Whether Django would answer this request with the document itself (and not a 400 or a redirect)."""
    if environ.get("SCRIPT_NAME") or settings.FORCE_SCRIPT_NAME:
        return False  # paths under a prefix: Django's own path handling
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
        host = environ["HTTP_X_FORWARDED_HOST"]
    else:
        host = environ.get("HTTP_HOST")
    if not host or not settings.ALLOWED_HOSTS:
        return False
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False  # Django's DisallowedHost answer
    # Not when SecurityMiddleware would redirect to https (no exempt path serves a document).
    return not settings.SECURE_SSL_REDIRECT or _secure(environ)


def _secure(environ):
    """HttpRequest.is_secure(), from the environ."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            value, *_ = value.split(",", 1)
            return value.strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


def _security_headers(environ):
    """What django.middleware.security.SecurityMiddleware adds to a response that has none of them."""
    headers = []
    if settings.SECURE_HSTS_SECONDS and _secure(environ):
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        headers.append(("Strict-Transport-Security", value))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        if isinstance(policy, str):
            policy = policy.split(",")
        headers.append(("Referrer-Policy", ",".join(v.strip() for v in policy)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    return headers
