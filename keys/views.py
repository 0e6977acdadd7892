from django.conf import settings
from django.views.decorators.http import require_safe

from provider import prepared

from .selectors import jwks_document

# The JWKS as last served by this process; rebuilt when the published keys change.
_prepared = None


def jwks_max_age():
    # Never cache longer than a next key is pre-published, or a rotation could outrun caches.
    return min(settings.SIGNET_JWKS_MAX_AGE, settings.SIGNET_KEY_PREPUBLISH_SECONDS)


def prepared_jwks():
    """The JWK Set's bytes and ETag, serialized again only when the published keys differ.

    The selector answers from the key ring this process holds (re-read when the ring's version
    changes) and also drops a retired key whose time is up, which changes no version: comparing
    its answer with the last one catches both, for the cost of comparing a few small dicts.
    """
    global _prepared
    document = jwks_document()
    current = _prepared
    if current is None or current.source != document:
        current = _prepared = prepared.prepare(document)
    return current


@require_safe
def jwks(request):
    """Public keys of every next, active and retired key (RFC 7517), with caching validators."""
    return prepared.respond(
        request,
        prepared_jwks(),
        content_type="application/jwk-set+json",
        cache_control=f"public, max-age={jwks_max_age()}",
    )
