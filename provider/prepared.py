"""Documents served from bytes prepared once: the JWKS and the discovery metadata.

Both change only when the key ring or the settings do, and relying parties and resource servers
fetch them often: the JSON is serialized, and its ETag computed, once per change, not per request.
"""

import hashlib
import json
from dataclasses import dataclass

from django.http import HttpResponse, HttpResponseNotModified


@dataclass(frozen=True)
class Prepared:
    source: object  # what the bytes were made from, to tell when they are stale
    body: bytes
    etag: str  # strong: every worker and instance derives the same one from the same bytes


def prepare(source):
    body = json.dumps(source, separators=(",", ":")).encode()
    return Prepared(source=source, body=body, etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def matches(if_none_match, etag):
    # RFC 9110 13.1.2: If-None-Match compares weakly, and "*" matches any current representation.
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in [t.removeprefix("W/") for t in tags]


def respond(request, prepared, *, content_type, cache_control):
    """200 with the prepared bytes, or 304 to a matching If-None-Match; readable from any origin."""
    if matches(request.headers.get("If-None-Match"), prepared.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(prepared.body, content_type=content_type)
    response["ETag"] = prepared.etag
    response["Cache-Control"] = cache_control
    response["Access-Control-Allow-Origin"] = "*"
    return response
