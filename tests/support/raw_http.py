"""HTTP requests as exact bytes, for hostile input that HTTP libraries would repair before sending.

`requests` and `http.client` percent-encode, refuse control characters and normalise headers; the
bugs this exists for (a bad escape, invalid UTF-8, a NUL) only reach the server through a socket.
"""

import http.client
import json
import socket
from types import SimpleNamespace
from urllib.parse import urlsplit

from requests.structures import CaseInsensitiveDict


class RawResponse:
    """The parts of a requests.Response that tests/security/oracle.py reads."""

    def __init__(self, method, status, headers, content):
        self.request = SimpleNamespace(method=method)
        self.status_code = status
        self.headers = headers
        self.content = content
        self.text = content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)


def build(method, target, *, host, headers=(), body=b""):
    """The request's bytes: `target` and every header value are bytes, sent exactly as given."""
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: " + host.encode(), b"Connection: close"]
    lines += [name.encode() + b": " + value for name, value in headers]
    if body or method == "POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def send(issuer, method, target, *, headers=(), body=b"", timeout=30):
    """Send one request as exact bytes to the issuer's host and port; read the whole answer."""
    parts = urlsplit(issuer)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(build(method, target, host=parts.netloc, headers=headers, body=body))
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        content = response.read()
        return RawResponse(method, response.status, CaseInsensitiveDict(response.getheaders()), content)
