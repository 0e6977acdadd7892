"""What the browser session knows about its authentication (OIDC Core 2: auth_time, sid)."""

import time
import uuid

AUTH_TIME_KEY = "signet_auth_time"
SID_KEY = "signet_sid"


def session_mark_authenticated(*, request, now=None, keep_sid=False):
    """Record that this browser session just authenticated (at every login; `keep_sid` at a step-up)."""
    request.session[AUTH_TIME_KEY] = int(now if now is not None else time.time())
    if not (keep_sid and request.session.get(SID_KEY)):
        request.session[SID_KEY] = uuid.uuid4().hex


def session_auth_time(request):
    """Seconds since the epoch at which this session authenticated, or None."""
    value = request.session.get(AUTH_TIME_KEY)
    return int(value) if value is not None else None


def session_sid(request):
    return request.session.get(SID_KEY)
