"""DRF's exception handler, plus the RFC 6750 error code in the Bearer challenge and the body.

Kept apart from authentication.py: DRF imports the authentication classes while it loads
rest_framework.views, so that module cannot import rest_framework.views back.
"""

from rest_framework.views import exception_handler

from .authentication import REALM, resource_metadata_param


def _challenge(error, description=None, scope=None):
    parts = [f'realm="{REALM}"', f'error="{error}"']
    if description:
        # Descriptions are our own fixed strings; keep them inside the quoted-string anyway.
        parts.append('error_description="{}"'.format(str(description).replace("\\", "").replace('"', "'")))
    if scope:
        parts.append(f'scope="{scope}"')
    if error == "invalid_token":
        parts.append(resource_metadata_param())
    return "Bearer " + ", ".join(parts)


def bearer_exception_handler(exc, context):
    """DRF's handler, plus the RFC 6750 error code in the challenge and the body."""
    response = exception_handler(exc, context)
    if response is None:
        return None
    # BearerError (authentication.py) and InsufficientScope (permissions.py) carry an RFC 6750 code.
    error = getattr(exc, "error", None)
    if error == "insufficient_scope":
        response["WWW-Authenticate"] = _challenge(error, exc.detail, scope=" ".join(exc.scopes))
    elif error:
        response["WWW-Authenticate"] = _challenge(error, exc.detail)
    if error and isinstance(response.data, dict):
        response.data["error"] = error
    return response
