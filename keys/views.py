import hashlib
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from .selectors import jwks_document


def jwks_max_age():
    # Never cache longer than a next key is pre-published, or a rotation could outrun caches.
    return min(settings.SIGNET_JWKS_MAX_AGE, settings.SIGNET_KEY_PREPUBLISH_SECONDS)


def _matches(if_none_match, etag):
    # RFC 9110 13.1.2: If-None-Match compares weakly, and "*" matches any current representation.
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in [t.removeprefix("W/") for t in tags]


@require_safe
def jwks(request):
    """Public keys of every next, active and retired key (RFC 7517), with caching validators."""
    body = json.dumps(jwks_document(), separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if _matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/jwk-set+json")
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=jwks_max_age())
    response["Access-Control-Allow-Origin"] = "*"
    return response
