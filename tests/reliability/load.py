"""Bounded mixed load against a `Deployment`: real logins, code exchanges, refreshes, client
credentials, userinfo, introspection, revocation and sample-API calls, from N threads on loopback.

Every response is recorded with its endpoint, status and time, so a test can say afterwards: how
many requests, how many 5xx (and whether each fell inside a declared fault window, where only a 503
with a JSON body is acceptable), how many refresh tokens were handed out, and whether any refresh
token a client legitimately held was refused (lost) or any refresh token forked (two successes).

The load stops by itself: at the deadline or after `max_requests`, whichever comes first.
"""

import base64
import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests

from tests.support.browser import Browser, pkce_pair, query

from .deployment import PASSWORD, REDIRECT_URI, Deployment

TIMEOUT = 20
SCOPE = "openid profile email offline_access"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _kid(token):
    try:
        header = token.split(".", 1)[0]
        return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))).get("kid")
    except (ValueError, AttributeError):
        return None


@dataclass
class Record:
    endpoint: str
    status: int  # 0: no HTTP answer (connection refused, timeout)
    started: float
    ended: float
    body: str = ""
    content_type: str = ""


@dataclass
class LoadReport:
    duration: float = 0.0
    concurrency: int = 0
    requests: int = 0
    by_endpoint: Counter = field(default_factory=Counter)
    server_errors: list = field(default_factory=list)  # 5xx outside fault windows
    fault_errors_ok: int = 0  # 503 + JSON inside fault windows
    fault_503_max_ms: int = 0  # how fast the slowest of them came back ("fail fast")
    fault_errors_bad: list = field(default_factory=list)  # other 5xx, or no answer, inside windows
    transport_errors: list = field(default_factory=list)  # no HTTP answer outside fault windows
    refresh_tokens: set = field(default_factory=set)  # sha256 of every refresh token received
    issued: set = field(default_factory=set)  # every token received, for the secret scan of the logs
    refreshes: int = 0
    lost: list = field(default_factory=list)  # a held refresh token refused outside fault windows
    lost_after_fault: int = 0  # ... refused after a fault interrupted its rotation
    races: int = 0
    forks: int = 0  # a refresh race with two successes
    sample_api_checks: int = 0
    sample_api_failures: list = field(default_factory=list)
    wrong_answers: list = field(default_factory=list)  # 2xx/4xx that contradict the protocol
    rotations: int = 0
    rotation_errors: list = field(default_factory=list)
    faults: list = field(default_factory=list)
    kids_seen: set = field(default_factory=set)
    latency: dict = field(default_factory=dict)

    def figures(self):
        return {
            "duration_s": round(self.duration, 1),
            "concurrency": self.concurrency,
            "requests": self.requests,
            "requests_per_s": round(self.requests / self.duration, 1) if self.duration else 0,
            "refreshes": self.refreshes,
            "refresh_tokens_received": len(self.refresh_tokens),
            "refresh_races": self.races,
            "rotations": self.rotations,
            "signing_kids_seen": len(self.kids_seen),
            "sample_api_checks": self.sample_api_checks,
            "faults": self.faults,
            "fault_503_json": self.fault_errors_ok,
            "fault_503_slowest_ms": self.fault_503_max_ms,
            "5xx_outside_faults": len(self.server_errors),
            "bad_answers_during_faults": len(self.fault_errors_bad),
            "transport_errors": len(self.transport_errors),
            "transport_error_kinds": sorted(
                {e.split(":", 2)[-1].strip()[:80] for e in self.transport_errors}
            ),
            "lost_refresh_tokens": len(self.lost),
            "lost_after_fault": self.lost_after_fault,
            "forked_refresh_tokens": self.forks,
            "sample_api_failures": len(self.sample_api_failures),
            "wrong_answers": len(self.wrong_answers),
            "by_endpoint": {f"{e} {s}": n for (e, s), n in sorted(self.by_endpoint.items())},
            "latency_ms_p50_p95_max": self.latency,
        }


class _Chain:
    """One signed-in client's tokens: the refresh token it holds is the only one it may use."""

    def __init__(self, access, refresh, instance):
        self.access = access
        self.refresh = refresh
        self.instance = instance
        self.faulted = False  # a rotation of this chain failed during a fault: its outcome is unknown
        self.tour = []  # actions to take first, before random ones


class LoadRun:
    """Drive a deployment; `run()` returns a LoadReport once the load has stopped by itself."""

    # Relative frequency of each action for a signed-in client.
    ACTIONS = {
        "refresh": 30,
        "userinfo": 15,
        "introspect": 10,
        "client_credentials": 10,
        "sample_api": 20,
        "race": 3,
        "revoke": 2,
        "relogin": 6,
    }

    def __init__(
        self,
        deployment: Deployment,
        *,
        duration,
        concurrency=6,
        max_requests=200_000,
        rotate_every=None,
        seed=1,
    ):
        self.d = deployment
        self.duration = duration
        self.concurrency = concurrency
        self.max_requests = max_requests
        self.rotate_every = rotate_every
        self.seed = seed
        self.rp = (deployment.seed["rp"]["client_id"], deployment.seed["rp"]["secret"])
        self.service = (deployment.seed["service"]["client_id"], deployment.seed["service"]["secret"])
        self.report = LoadReport(concurrency=concurrency)
        self._records = []
        self._lock = threading.Lock()
        self._windows = []  # [start, end or None]
        self._stop = threading.Event()
        self._deadline = None
        self._consented = set()

    # --- recording ---------------------------------------------------------------------------

    @contextmanager
    def fault(self, name):
        """Declare a fault window: inside it, a 503 with a JSON body is the only acceptable 5xx."""
        window = [time.monotonic(), None]
        with self._lock:
            self._windows.append(window)
            self.report.faults.append(name)
        try:
            yield
        finally:
            window[1] = time.monotonic() + 1.0  # requests in flight when the fault ended

    def in_fault(self, started, ended):
        return any(start <= ended and (end is None or started <= end) for start, end in self._windows)

    def _record(self, endpoint, response, started, error=""):
        ended = time.monotonic()
        if response is None:
            rec = Record(endpoint, 0, started, ended, body=error)
        else:
            rec = Record(
                endpoint,
                response.status_code,
                started,
                ended,
                response.text[:500] if response.status_code >= 500 else "",
                response.headers.get("Content-Type", ""),
            )
        with self._lock:
            self._records.append(rec)
        return rec

    def _hook(self, endpoint):
        def hook(response, *args, **kwargs):
            self._record(endpoint, response, time.monotonic() - response.elapsed.total_seconds())

        return hook

    def call(self, http, endpoint, method, url, **kw):
        started = time.monotonic()
        try:
            response = http.request(method, url, timeout=TIMEOUT, allow_redirects=False, **kw)
        except requests.RequestException as e:
            self._record(endpoint, None, started, error=f"{type(e).__name__}: {str(e)[:160]}")
            return None
        self._record(endpoint, response, started)
        return response

    def wrong(self, what, response=None):
        """A 2xx/4xx answer that contradicts the protocol (inside a fault window too: an outage must be
        a 503, never a client error that tells the client its request was wrong)."""
        now = time.monotonic()
        where = " (during a fault)" if self.in_fault(now - 1, now) else ""
        detail = ""
        if response is not None:
            text = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())  # an HTML page's words
            detail = f": {response.status_code} {response.url[:120]} {text[:400]}"
        with self._lock:
            self.report.wrong_answers.append(f"{what}{where}{detail}")

    def _count(self):
        return len(self._records)

    def _running(self):
        return (
            not self._stop.is_set()
            and time.monotonic() < self._deadline
            and self._count() < self.max_requests
        )

    # --- the client's side of the protocol --------------------------------------------------

    def instance(self, rng):
        return rng.choice(self.d.providers).url

    def login(self, rng, email):
        """Authorization code + PKCE through the real login (and consent) forms; returns a chain."""
        base = self.instance(rng)
        browser = Browser(base)
        browser.http.hooks["response"].append(self._hook("login-pages"))
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(12)
        try:
            page = browser.get(
                "/authorize",
                params={
                    "response_type": "code",
                    "client_id": self.rp[0],
                    "redirect_uri": REDIRECT_URI,
                    "scope": SCOPE,
                    "state": state,
                    "nonce": secrets.token_urlsafe(12),
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
            )
            if page.status_code != 200:
                return None
            page = browser.login(page, email, PASSWORD)
            if page.status_code == 200 and 'id="authorizationForm"' in page.text:
                page = browser.consent(page)
        except requests.RequestException as e:
            self._record("login-pages", None, time.monotonic(), error=f"{type(e).__name__}: {str(e)[:160]}")
            return None
        except (AssertionError, IndexError):
            self.wrong("login pages not as expected")
            return None
        location = page.headers.get("Location", "")
        if page.status_code != 302 or not location.startswith(REDIRECT_URI + "?"):
            if page.status_code < 500:
                self.wrong("login did not end at the redirect URI", page)
            return None
        params = query(location)
        if params.get("state") != state or "code" not in params:
            self.wrong(f"authorization response without code or with a wrong state: {params}")
            return None
        http = requests.Session()
        token_instance = self.instance(rng)  # exchange at any instance: state is shared
        response = self.call(
            http,
            "token:authorization_code",
            "POST",
            token_instance + "/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=self.rp,
        )
        if response is None or response.status_code != 200:
            if response is not None and response.status_code < 500:
                self.wrong("code exchange refused", response)
            return None
        body = response.json()
        if "refresh_token" not in body:
            self.wrong("code exchange without a refresh token", response)
            return None
        self._received(body)
        return _Chain(body["access_token"], body["refresh_token"], token_instance)

    def _received(self, body):
        with self._lock:
            self.report.refresh_tokens.add(sha256(body["refresh_token"]))
            self.report.issued.update(
                body[k] for k in ("access_token", "refresh_token", "id_token") if k in body
            )
            for name in ("access_token", "id_token"):
                if name in body:
                    self.report.kids_seen.add(_kid(body[name]))

    def refresh(self, http, rng, chain):
        started = time.monotonic()
        response = self.call(
            http,
            "token:refresh_token",
            "POST",
            self.instance(rng) + "/token",
            data={"grant_type": "refresh_token", "refresh_token": chain.refresh},
            auth=self.rp,
        )
        with self._lock:
            self.report.refreshes += 1
        if response is not None and response.status_code == 200:
            body = response.json()
            self._received(body)
            chain.access, chain.refresh = body["access_token"], body["refresh_token"]
            chain.faulted = False
            return chain
        if response is None or response.status_code >= 500:
            # The rotation may or may not have committed: retrying the old token may be reuse.
            chain.faulted = True
            return chain
        if response.status_code == 400 and response.json().get("error") == "invalid_grant":
            with self._lock:
                if chain.faulted or self.in_fault(started, time.monotonic()):
                    self.report.lost_after_fault += 1
                else:
                    self.report.lost.append(f"refresh token refused at {started:.1f}: {response.text[:200]}")
            return None
        self.wrong("refresh refused", response)
        return None

    def race(self, rng, chain):
        """Two simultaneous refreshes with one token: at most one may succeed (no fork)."""

        def attempt(_):
            http = requests.Session()
            return self.call(
                http,
                "token:refresh_race",
                "POST",
                self.instance(rng) + "/token",
                data={"grant_type": "refresh_token", "refresh_token": chain.refresh},
                auth=self.rp,
            )

        with ThreadPoolExecutor(2) as pool:
            responses = list(pool.map(attempt, range(2)))
        wins = [r for r in responses if r is not None and r.status_code == 200]
        for r in wins:
            self._received(r.json())
        with self._lock:
            self.report.races += 1
            if len(wins) > 1:
                self.report.forks += 1
        return None  # reuse detection may have revoked the family: start over

    def sample_api(self, http, token, what):
        if self.d.sample_api is None:
            return
        response = self.call(
            http, "sample_api:hello", "GET", self.d.sample_api.url + "/hello/", headers=_bearer(token)
        )
        with self._lock:
            self.report.sample_api_checks += 1
            if response is None or response.status_code != 200:
                status = response.status_code if response is not None else "no answer"
                body = response.text[:200] if response is not None else ""
                header = response.headers.get("WWW-Authenticate", "") if response is not None else ""
                self.report.sample_api_failures.append(f"{what} kid={_kid(token)}: {status} {header} {body}")

    def act(self, http, rng, chain, action):
        if action == "refresh":
            return self.refresh(http, rng, chain)
        if action == "race":
            return self.race(rng, chain)
        if action == "relogin":
            return None
        if action == "userinfo":
            r = self.call(
                http, "userinfo", "GET", self.instance(rng) + "/userinfo", headers=_bearer(chain.access)
            )
            if r is not None and r.status_code != 200 and r.status_code < 500:
                self.wrong("userinfo refused a live access token", r)
        elif action == "introspect":
            r = self.call(
                http,
                "introspect",
                "POST",
                self.instance(rng) + "/introspect",
                data={"token": chain.access},
                auth=self.rp,
            )
            if r is not None and r.status_code == 200 and r.json().get("active") is not True:
                self.wrong("introspection says a live access token is inactive", r)
            elif r is not None and r.status_code != 200 and r.status_code < 500:
                self.wrong("introspection refused", r)
        elif action == "client_credentials":
            r = self.call(
                http,
                "token:client_credentials",
                "POST",
                self.instance(rng) + "/token",
                data={"grant_type": "client_credentials"},
                auth=self.service,
            )
            if r is not None and r.status_code == 200:
                token = r.json()["access_token"]
                with self._lock:
                    self.report.kids_seen.add(_kid(token))
                    self.report.issued.add(token)
                self.sample_api(http, token, "client-credentials token")
            elif r is not None and r.status_code < 500:
                self.wrong("client credentials refused", r)
        elif action == "sample_api":
            self.sample_api(http, chain.access, "user access token")
        elif action == "revoke":
            r = self.call(
                http,
                "revoke",
                "POST",
                self.instance(rng) + "/revoke",
                data={"token": chain.refresh, "token_type_hint": "refresh_token"},
                auth=self.rp,
            )
            if r is not None and r.status_code != 200 and r.status_code < 500:
                self.wrong("revocation refused", r)
            return None
        return chain

    def worker(self, n):
        rng = random.Random(self.seed * 1000 + n)
        email = self.d.seed["users"][n % len(self.d.seed["users"])]
        http = requests.Session()
        names, weights = zip(*self.ACTIONS.items(), strict=True)
        chain = None
        first = True
        while self._running():
            if chain is None:
                chain = self.login(rng, email)
                if chain is None:
                    time.sleep(0.05)  # a failed login (fault window): don't spin
                elif first:
                    # Every action at least once per worker, however slow the machine, then at random.
                    chain.tour = [a for a in self.ACTIONS if a not in ("relogin", "revoke", "race")] + [
                        "race"
                    ]
                    first = False
                continue
            action = chain.tour.pop(0) if chain.tour else rng.choices(names, weights)[0]
            chain = self.act(http, rng, chain, action)

    def rotator(self):
        wait = self.rotate_every / 2  # the first one early, so tokens of the new key are seen in a short run
        while not self._stop.wait(wait):
            wait = self.rotate_every
            if not self._running():
                return
            try:
                self.d.rotate_key()
                with self._lock:
                    self.report.rotations += 1
            except Exception as e:  # noqa: BLE001 - reported, and the test fails on it
                with self._lock:
                    self.report.rotation_errors.append(repr(e)[:500])

    def run(self, during=None):
        """Run the load; `during(run)` (if given) runs alongside it, e.g. to inject a fault."""
        started = time.monotonic()
        self._deadline = started + self.duration
        threads = [
            threading.Thread(target=self.worker, args=(n,), daemon=True) for n in range(self.concurrency)
        ]
        if self.rotate_every:
            threads.append(threading.Thread(target=self.rotator, daemon=True))
        for t in threads:
            t.start()
        try:
            if during is not None:
                during(self)
        finally:
            for t in threads:
                t.join(timeout=max(1.0, self._deadline - time.monotonic()) + TIMEOUT + 60)
            self._stop.set()
        self.report.duration = time.monotonic() - started
        self._summarise()
        return self.report

    def stop(self):
        self._stop.set()

    def _summarise(self):
        r = self.report
        r.requests = len(self._records)
        durations = {}
        for rec in self._records:
            durations.setdefault(rec.endpoint, []).append((rec.ended - rec.started) * 1000)
        for endpoint, values in sorted(durations.items()):
            values.sort()
            r.latency[endpoint] = [
                round(values[len(values) // 2]),
                round(values[min(len(values) - 1, int(len(values) * 0.95))]),
                round(values[-1]),
            ]
        for rec in self._records:
            r.by_endpoint[(rec.endpoint, rec.status)] += 1
            faulted = self.in_fault(rec.started, rec.ended)
            if rec.status == 0:
                (r.fault_errors_bad if faulted else r.transport_errors).append(
                    f"{rec.endpoint}: no answer {rec.body}"
                )
            elif rec.status >= 500:
                if faulted and rec.status == 503 and "json" in rec.content_type:
                    r.fault_errors_ok += 1
                    r.fault_503_max_ms = max(r.fault_503_max_ms, round((rec.ended - rec.started) * 1000))
                elif faulted:
                    r.fault_errors_bad.append(
                        f"{rec.endpoint}: {rec.status} {rec.content_type} {rec.body[:200]}"
                    )
                else:
                    r.server_errors.append(f"{rec.endpoint}: {rec.status} {rec.body[:300]}")


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def leaked(text, report, deployment):
    """Names of the secrets of a run that appear in `text` (the processes' logs): every token the
    clients received, the client secrets, the users' password and the deployment's own secrets."""
    from .deployment import KEY_ENCRYPTION_KEY, PASSWORD, SECRET_KEY

    found = []
    fixed = {
        "password": PASSWORD,
        "SECRET_KEY": SECRET_KEY,
        "SIGNET_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
        "rp client secret": deployment.seed["rp"]["secret"],
        "service client secret": deployment.seed["service"]["secret"],
    }
    found += [name for name, value in fixed.items() if value in text]
    # Tokens: compare every long token-shaped word of the logs with the set of issued tokens (and
    # their JWT signatures), rather than searching the logs once per token.
    words = set(re.findall(r"[A-Za-z0-9_\-.]{20,}", text))
    words |= {part for word in words for part in word.split(".") if len(part) >= 20}
    issued = set(report.issued) | {t.rsplit(".", 1)[-1] for t in report.issued if t.count(".") == 2}
    found += [f"a token issued in the run ({len(words & issued)})"] if words & issued else []
    return found
