"""A scripted browser for protocol tests: real HTTP, real forms, cookies and CSRF as a browser sends them."""

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": {}, "buttons": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            kind = attrs.get("type", "submit" if tag == "button" else "text")
            target = "buttons" if kind == "submit" else "fields"
            self.forms[-1][target][attrs["name"]] = attrs.get("value", "")


def forms(html):
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def query(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Browser:
    """Follows redirects only within the provider; stops at the relying party's redirect URI."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()

    def get(self, url, **kw):
        return self._follow(
            self.http.get(urljoin(self.base + "/", url), allow_redirects=False, timeout=30, **kw)
        )

    def post(self, url, data, **kw):
        return self._follow(
            self.http.post(urljoin(self.base + "/", url), data=data, allow_redirects=False, timeout=30, **kw)
        )

    def _follow(self, response):
        for _ in range(10):
            location = response.headers.get("Location")
            if response.status_code not in (301, 302, 303, 307) or not location:
                return response
            target = urljoin(response.url, location)
            if not target.startswith(self.base + "/"):
                return response  # the relying party's redirect URI: the caller inspects it
            response = self.http.get(target, allow_redirects=False, timeout=30)
        raise AssertionError("redirect loop")

    def submit(self, response, fields=None, button=None, form_index=0):
        form = forms(response.text)[form_index]
        data = dict(form["fields"])
        data.update(fields or {})
        if button:
            data[button] = form["buttons"].get(button, "")
        action = urljoin(response.url, form["action"]) if form["action"] else response.url
        return self._follow(
            self.http.post(
                action, data=data, allow_redirects=False, timeout=30, headers={"Referer": response.url}
            )
        )

    def login(self, response, email, password):
        assert 'name="password"' in response.text, "expected the login page"
        return self.submit(response, {"username": email, "password": password})

    def consent(self, response, allow=True):
        assert 'id="authorizationForm"' in response.text, "expected the consent page"
        return self.submit(response, button="allow" if allow else "cancel")
