"""Discovery and the JWKS answered at the WSGI layer (provider/wsgi_documents.py): the same answer
Django gives, byte for byte but for the request id, for every plain request; everything else left to
Django. Requests are raw WSGI environs, as gunicorn hands them over."""

import io
import logging
import sys

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections

from keys import selectors
from keys.services import key_rotate
from provider import wsgi

pytestmark = pytest.mark.django_db

DOCUMENTS = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks"]


def environ(path, method="GET", **headers):
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost:8000",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    env.update(headers)
    return env


def call(app, env):
    answered = {}

    def start_response(status, headers, exc_info=None):
        answered["status"], answered["headers"] = status, headers

    chunks = app(env, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return answered["status"], answered["headers"], body


@pytest.fixture(autouse=True)
def _connections_kept(monkeypatch):
    """As Django's test client does: the request signals must not close the database connection,
    which holds the test's transaction (close_old_connections closes a connection found inside an
    atomic block, which on PostgreSQL ends the test's data with it)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def django_handler():
    """Django's handler as gunicorn would load it with the test's settings (SecurityMiddleware reads
    its settings when the handler is made)."""
    return WSGIHandler()


@pytest.fixture
def django_calls(monkeypatch):
    """The requests Django's handler was given, behind the documents' layer."""
    calls = []

    def counted(env, start_response):
        calls.append(env["PATH_INFO"])
        return django_handler()(env, start_response)

    monkeypatch.setattr(wsgi.application, "app", counted)
    return calls


def both(env_args, env_kwargs):
    """(the documents' layer's answer, Django's own answer) to the same request."""
    ours = call(wsgi.application, environ(*env_args, **env_kwargs))
    django = call(django_handler(), environ(*env_args, **env_kwargs))
    return ours, django


def comparable(answer):
    status, headers, body = answer
    return status, sorted((k, v) for k, v in headers if k != "X-Request-ID"), body


@pytest.fixture
def _https(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def etag_of(path):
    _status, headers, _body = call(django_handler(), environ(path))
    return dict(headers)["ETag"]


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {}),
        ("HEAD", {}),
        ("GET", {"HTTP_IF_NONE_MATCH": "ETAG"}),
        ("GET", {"HTTP_IF_NONE_MATCH": 'W/"other", W/ETAG'}),
        ("GET", {"HTTP_IF_NONE_MATCH": "*"}),
        ("GET", {"HTTP_IF_NONE_MATCH": '"stale"'}),
        ("GET", {"HTTP_X_REQUEST_ID": "from-the-proxy-1234"}),
        ("GET", {"HTTP_X_FORWARDED_PROTO": "https"}),
    ],
)
def test_a_plain_request_gets_djangos_answer_without_django(
    path, method, headers, django_calls, settings, _https
):
    if "HTTP_IF_NONE_MATCH" in headers:
        headers = {
            **headers,
            "HTTP_IF_NONE_MATCH": headers["HTTP_IF_NONE_MATCH"].replace("ETAG", etag_of(path)),
        }
    ours, django = both((path, method), headers)
    assert django_calls == []  # answered in front of Django
    assert comparable(ours) == comparable(django)
    assert ours[0] in ("200 OK", "304 Not Modified")
    request_id = dict(ours[1])["X-Request-ID"]
    if "HTTP_X_REQUEST_ID" in headers:
        assert request_id == headers["HTTP_X_REQUEST_ID"]
    else:
        assert len(request_id) == 32 and request_id != dict(django[1])["X-Request-ID"]
    if headers.get("HTTP_X_FORWARDED_PROTO") == "https":
        assert "Strict-Transport-Security" in dict(ours[1])


@pytest.mark.parametrize(
    ("label", "args", "headers", "status"),
    [
        ("another host", ("/jwks",), {"HTTP_HOST": "attacker.example"}, "400 Bad Request"),
        ("no host", ("/jwks",), {"HTTP_HOST": ""}, "400 Bad Request"),
        ("a POST", ("/jwks", "POST"), {}, "405 Method Not Allowed"),
        ("an OPTIONS", ("/.well-known/openid-configuration", "OPTIONS"), {}, "405 Method Not Allowed"),
        ("a trailing slash", ("/jwks/",), {}, "404 Not Found"),
        ("a script prefix", ("/jwks",), {"SCRIPT_NAME": "/auth"}, "200 OK"),
    ],
)
def test_anything_else_is_left_to_django(label, args, headers, status, django_calls):
    ours, django = both(args, headers)
    assert django_calls == [args[0]], label
    assert ours[0] == django[0] == status


def test_an_http_request_is_left_to_djangos_https_redirect(django_calls, settings, _https):
    settings.SECURE_SSL_REDIRECT = True
    ours, django = both(("/jwks",), {})
    assert django_calls == ["/jwks"]
    assert ours[0] == django[0] == "301 Moved Permanently"
    ours, django = both(("/jwks",), {"HTTP_X_FORWARDED_PROTO": "https"})
    assert django_calls == ["/jwks"] and ours[0] == "200 OK"  # over https: answered here


def test_a_rotation_is_served_as_soon_as_the_process_sees_it(django_calls):
    before = call(wsgi.application, environ("/jwks"))[2]
    key_rotate()
    selectors.invalidate()  # as the ring's version would after SIGNET_KEY_RELOAD_SECONDS
    after = call(wsgi.application, environ("/jwks"))[2]
    assert after != before
    assert comparable(call(wsgi.application, environ("/jwks"))) == comparable(
        call(django_handler(), environ("/jwks"))
    )
    assert django_calls == []


def test_each_answer_is_logged_like_any_request(caplog, django_calls):
    with caplog.at_level(logging.INFO, logger="signet.request"):
        call(wsgi.application, environ("/jwks", HTTP_X_REQUEST_ID="from-the-proxy-1234"))
    [record] = [r for r in caplog.records if r.name == "signet.request"]
    assert record.getMessage() == "GET /jwks 200"
    assert record.fields["http"]["client_ip"] == "127.0.0.1" and record.fields["http"]["status"] == 200
    assert django_calls == []


def test_metrics_count_the_answers(settings, django_calls):
    from provider.metrics.recorder import RESPONSES

    settings.SIGNET_METRICS = True
    label = ("oauth2_provider:jwks-info", "200")
    before = RESPONSES.labels(*label)._value.get()
    call(wsgi.application, environ("/jwks"))
    assert RESPONSES.labels(*label)._value.get() == before + 1


def test_a_failure_while_preparing_is_left_to_django(django_calls, monkeypatch):
    from django.db import OperationalError

    import keys.views

    def broken():
        raise OperationalError("the connection is closed")

    monkeypatch.setattr(keys.views, "prepared_jwks", broken)
    status, _headers, _body = call(wsgi.application, environ("/jwks"))
    assert django_calls == ["/jwks"]  # Django answers, as it would without this layer
    assert status == "503 Service Unavailable"  # Signet's answer to a database outage
