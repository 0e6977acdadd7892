"""Raw query strings and form bodies, checked before anything decodes them.

Django decodes leniently (a bad escape stays as text, invalid UTF-8 becomes U+FFFD) and oauthlib
strictly (a bad escape raises ValueError, a 500 if nothing catches it). A parameter that would read
differently to the two, or that no OAuth parameter may contain, is refused at the boundary, in the
endpoint's own error shape, before either reads it.
"""

import re
from urllib.parse import unquote_to_bytes

from django.core.exceptions import SuspiciousOperation
from django.http.multipartparser import MultiPartParserError

# RFC 3986 2.1: '%' is always followed by two hex digits.
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def raw_query(request):
    """The query string's bytes as the client sent them (WSGI carries them as a latin-1 str, PEP 3333)."""
    return request.META.get("QUERY_STRING", "").encode("iso-8859-1", "replace")


def encoding_problem(raw):
    """Why `raw` (application/x-www-form-urlencoded bytes) cannot be read exactly, or None.

    - a '%' not followed by two hex digits (RFC 3986 2.1);
    - names or values that are not UTF-8 once decoded (WHATWG URL / HTML form encoding, RFC 6749 B);
    - a NUL in a parameter's name: no name has one, and oauthlib fails on it. (A NUL in a value is
      the endpoint's to refuse as the value it is: an unknown client, an invalid code.)
    """
    if not raw:
        return None
    if _BAD_ESCAPE.search(raw):
        return "The request has a malformed percent-encoding."
    decoded = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return "The request's parameters are not UTF-8."
    if b"\x00" in decoded and any(
        b"\x00" in unquote_to_bytes(pair.split(b"=")[0]) for pair in raw.split(b"&")
    ):
        return "A parameter's name contains a NUL character."
    return None


def request_encoding_problem(request):
    """The first encoding problem in the query string or the form-encoded body, or None."""
    problem = encoding_problem(raw_query(request))
    if problem is None and request.method == "POST" and _is_form(request):
        problem = encoding_problem(request.body)
    return problem


def _is_form(request):
    return request.content_type == "application/x-www-form-urlencoded"


# RFC 8707 2: the one parameter a client may repeat.
REPEATABLE = frozenset({"resource"})


def form_problem(request):
    """Why a machine endpoint must not act on this POST body, or None.

    RFC 6749 3.2 and RFC 7009/7662: parameters come form-urlencoded, and decode exactly (see
    encoding_problem); RFC 6749 3.1: none may repeat. Django's own parsers would answer an HTML
    400 or keep the last value.
    """
    try:
        if request.body and not _is_form(request):
            return "The body must be application/x-www-form-urlencoded."
        problem = request_encoding_problem(request)
        if problem is not None:
            return problem
        fields = request.POST.lists()
    except (MultiPartParserError, SuspiciousOperation, ValueError):
        return "The body could not be read."
    repeated = sorted(name for name, values in fields if len(values) > 1 and name not in REPEATABLE)
    if repeated:
        return f"Repeated parameter: {repeated[0]}."
    return None
