"""RFC 9728 OAuth 2.0 Protected Resource Metadata: what a client needs to call this API.

The document is served at the well-known URL derived from the resource identifier (RESOURCE_AUDIENCE,
the `aud` its tokens carry), and every 401 points at it (`resource_metadata` in the Bearer challenge,
RFC 9728 5.1), so a client meeting this API first can find the authorization server and the scopes.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.http import require_safe

WELL_KNOWN = "/.well-known/oauth-protected-resource"


def metadata_url(resource):
    """RFC 9728 3.1: the well-known segment goes between the host and the resource's path (if any)."""
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{parts.path.rstrip('/')}"


def document():
    """RFC 9728 2: `resource` is exactly the identifier the URL was derived from (3.3)."""
    return {
        "resource": settings.RESOURCE_AUDIENCE,
        "authorization_servers": [settings.RESOURCE_ISSUER],
        "scopes_supported": list(
            dict.fromkeys([settings.RESOURCE_READ_SCOPE, settings.RESOURCE_WRITE_SCOPE])
        ),
        # RFC 6750 2.1 only: a token in the body or the URL is refused (authentication.py).
        "bearer_methods_supported": ["header"],
    }


@require_safe
def protected_resource_metadata(request, suffix=""):
    # Only this resource's own path: a URL derived from another resource identifier names nothing here.
    if "/" + suffix.strip("/") != "/" + urlsplit(settings.RESOURCE_AUDIENCE).path.strip("/"):
        raise Http404("no such protected resource")
    return JsonResponse(document())
