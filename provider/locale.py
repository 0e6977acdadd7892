"""The language of a page: the authorization request's ui_locales, else the browser's Accept-Language.

Browser pages only: the machine endpoints leave MIDDLEWARE before this step (provider/lanes.py) and
answer in no language. The sign-in page carries the authorization request in its `next` URL, so a
ui_locales given to /authorize holds through sign-in, its errors and the consent page that follows.
"""

from urllib.parse import parse_qs, urlsplit

from django.utils import translation
from django.utils.cache import patch_vary_headers

# A bound on what one hostile parameter can make the lookup do.
MAX_TAGS = 10
MAX_TAG_LENGTH = 35


def ui_locales(request):
    """The raw ui_locales of this request or of the authorization request its `next` URL holds."""
    value = request.GET.get("ui_locales")
    if value is not None:
        return value
    next_url = request.GET.get("next")
    if next_url is None and request.method == "POST":
        # The sign-in form posts its `next` in the body (accounts/templates/accounts/login.html).
        next_url = request.POST.get("next")
    if not next_url:
        return None
    values = parse_qs(urlsplit(next_url).query).get("ui_locales")
    return values[0] if values else None


def supported_language(preferences):
    """The first shipped language in a space-separated preference list (OIDC Core 3.1.2.1), or None.

    A regional tag falls back to its language (fr-CA: fr); unknown and malformed tags are skipped.
    """
    for tag in (preferences or "").split()[:MAX_TAGS]:
        if len(tag) > MAX_TAG_LENGTH:
            continue
        try:
            # Tags are case-insensitive (RFC 5646 2.1.1); Django's lookup is not.
            return translation.get_supported_language_variant(tag.lower())
        except LookupError:
            continue
    return None


class LanguageMiddleware:
    """Activates the page's language for the view and its templates, then restores the default.

    Deactivating after the response keeps a worker thread from answering its next request (a machine
    endpoint, which skips this step) in the language of the last page it rendered.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = supported_language(ui_locales(request)) or translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        # Caches must keep one copy per language; ui_locales is in the URL already.
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
