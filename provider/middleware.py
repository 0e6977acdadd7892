"""Request ids and the one log line per request."""

import logging
import re
import secrets
import time

from provider import context, metrics

log = logging.getLogger("signet.request")
# An incoming X-Request-ID (from a proxy) is kept only if it is short and harmless in a log line.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestLogMiddleware:
    """Give each request an id (X-Request-ID in and out) and log one line when it is answered.

    The line has the method, the path without its query string (query strings carry codes, hints
    and state), the status, the duration and the client address. First in MIDDLEWARE so it sees every
    response, redirects and errors included.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id, ip, tokens = request_began(request)
        request.request_id = request_id
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            metrics.request_answered(request, response, elapsed)
            response["X-Request-ID"] = request_id
            log_answered(request.method, _loggable_path(request), response.status_code, elapsed, ip)
            return response
        finally:
            request_ended(tokens)


def request_began(request):
    """The request's id (a proxy's X-Request-ID if harmless) and client address, set for every log line
    until request_ended(tokens)."""
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(16)
    ip = context.client_ip(request)
    return request_id, ip, (context.request_id.set(request_id), context.client_address.set(ip))


def request_ended(tokens):
    context.request_id.reset(tokens[0])
    context.client_address.reset(tokens[1])


def log_answered(method, path, status, elapsed, ip):
    """The one line per answered request."""
    log.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "fields": {
                "http": {
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                    "client_ip": ip,
                }
            }
        },
    )


def _loggable_path(request):
    """The path, with a secret URL part (the password-reset token) masked."""
    match = getattr(request, "resolver_match", None)
    secret = match.kwargs.get("token") if match is not None else None
    if secret and secret in request.path:
        return request.path.replace(secret, "[redacted]")
    return request.path
