"""JSON log lines, request ids, the request line without its query string, and the masking of secrets."""

import json
import logging
import random
import sys

import pytest
from django.test import RequestFactory

from provider import context
from provider import logging as logging_module
from provider.logging import JsonFormatter, TextFormatter, redact

pytestmark = pytest.mark.django_db

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz"


def record(message, *args, fields=None, exc_info=None):
    rec = logging.LogRecord("signet.test", logging.WARNING, __file__, 1, message, args, exc_info)
    if fields is not None:
        rec.fields = fields
    return rec


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"hint={JWT}", JWT),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("Basic YWxpY2U6c2VjcmV0", "YWxpY2U6c2VjcmV0"),
        ("password=hunter2&x=1", "hunter2"),
        ('{"client_secret": "s3cr3t-value"}', "s3cr3t-value"),
        ("refresh_token=rt-123 code=c-456", "rt-123"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----", "MIIEv"),
    ],
)
def test_redact_masks_secret_shapes(text, hidden):
    assert hidden not in redact(text)


def _redact_without_the_quick_check(text):
    for pattern, replacement in logging_module._SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def test_the_quick_check_never_skips_a_secret():
    # Texts built from the pieces the patterns look for, in a fixed pseudo-random order (seeded).
    pieces = [
        "password", "passwd", "client_secret", "Token", "refresh_token", "id_token_hint", "code",
        "CODE_verifier", "csrfmiddlewaretoken", "Bearer", "basic", "eyJ", "abcd", ".", "-----BEGIN ",
        "PRIVATE KEY-----",
        "=", ":", '"', "'", " ", "\t", "&", ",", "}", "/token", "x", "9",
    ]  # fmt: skip
    draw = random.Random(20261206)
    for _ in range(20000):
        text = "".join(draw.choice(pieces) for _ in range(draw.randint(1, 12)))
        assert redact(text) == _redact_without_the_quick_check(text), text


def test_the_request_line_of_the_token_endpoint_is_not_searched_four_times(monkeypatch):
    monkeypatch.setattr(logging_module, "_SECRET_PATTERNS", None)  # any substitution would fail
    for text in ("POST /token 200", "/token", "GET /device/authorize 400", "refresh_token rotated"):
        assert redact(text) == text


def test_redact_leaves_ordinary_text_alone():
    text = "GET /authorize 302 grant_type=authorization_code scope=openid"
    assert redact(text) == text


def test_json_formatter_writes_one_object_with_request_id_and_fields():
    token = context.request_id.set("req-12345678")
    try:
        line = JsonFormatter().format(record("issued %s", "x", fields={"audit": {"event": "e", "note": JWT}}))
    finally:
        context.request_id.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "issued x" and entry["level"] == "WARNING" and entry["logger"] == "signet.test"
    assert entry["request_id"] == "req-12345678"
    assert entry["audit"]["event"] == "e" and JWT not in line


def test_json_formatter_never_writes_other_extras():
    rec = record("Bad Request: /logout")
    rec.request = RequestFactory().get(f"/logout?id_token_hint={JWT}")  # what django.request attaches
    line = JsonFormatter().format(rec)
    assert "id_token_hint" not in line and JWT not in line


def test_exceptions_are_formatted_and_masked():
    try:
        raise ValueError(f"bad token {JWT}")
    except ValueError:
        line = JsonFormatter().format(record("failed", exc_info=sys.exc_info()))
    entry = json.loads(line)
    assert "ValueError" in entry["exception"] and JWT not in line


def test_text_formatter_is_masked_too():
    assert JWT not in TextFormatter().format(record("hint %s", JWT))


def test_one_request_line_with_path_only_and_a_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="signet.request")
    response = client.get(f"/healthz?id_token_hint={JWT}&state=abc", HTTP_X_REQUEST_ID="incoming-id-0001")
    assert response["X-Request-ID"] == "incoming-id-0001"
    lines = [r for r in caplog.records if r.name == "signet.request"]
    assert len(lines) == 1
    http = lines[0].fields["http"]
    assert http["path"] == "/healthz" and http["status"] == 200 and http["method"] == "GET"
    assert "client_ip" in http and http["duration_ms"] >= 0
    assert JWT not in lines[0].getMessage() and "state=abc" not in lines[0].getMessage()


@pytest.mark.parametrize("incoming", ["short", "has spaces in it", "x" * 65, "<script>alert(1)</script>"])
def test_unsafe_incoming_request_ids_are_replaced(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming and len(response["X-Request-ID"]) == 32


def test_client_ip_reads_forwarded_for_only_through_trusted_proxies(settings):
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    settings.SIGNET_PROXY_COUNT = 0
    assert context.client_ip(request) == "10.0.0.2"
    settings.SIGNET_PROXY_COUNT = 1
    assert context.client_ip(request) == "203.0.113.9"
    settings.SIGNET_PROXY_COUNT = 2
    assert context.client_ip(request) == "6.6.6.6"
    settings.SIGNET_PROXY_COUNT = 1
    garbage = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert context.client_ip(garbage) is None
