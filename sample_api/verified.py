"""Access tokens this process has verified already: a client re-sending its token skips the signature.

A client sends the same access token with every call until it expires (10 minutes by Signet's
default), so most requests bring a token this process has verified before, and verifying it again
is most of what protection costs an endpoint (bench scenario 6). Kept per token (the exact string):
its claims and the key that verified it. A token found here still
- has exp, nbf and iat checked against the clock, and is dropped once expired;
- needs its key to be the very one the key source publishes under its kid now: a key the provider
  stops publishing (rotated out, revoked) ends its tokens as soon as the JWKS cache notices, exactly
  as it does for a token seen for the first time.
Only tokens that verified are kept, so made-up tokens cannot fill it, and at most `size` of them,
the least recently used leaving first. Offline verification never sees a single token revoked
before it expires, cached or not: the provider's introspection endpoint is for that.
"""

import threading
import time
from collections import OrderedDict

from . import tokens
from .jwks import UnknownKey


class VerifiedTokens:
    """Thread-safe: one instance per process, shared by every request thread. size 0: off."""

    def __init__(self, size):
        self.size = size
        self._entries = OrderedDict()  # token -> (expectations, claims, VerificationKey)
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._entries)

    def access_token_verify(self, token, *, keys, issuer, audience, algorithms, leeway=30, now=None):
        """tokens.access_token_verify, remembered: the claims (a copy) or InvalidToken."""
        now = time.time() if now is None else now
        expectations = (issuer, audience, tuple(algorithms))
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                self._entries.move_to_end(token)
        if entry is not None and entry[0] == expectations and _still_published(keys, entry[2]):
            claims = entry[1]
            try:
                tokens.check_times(claims, now=now, leeway=leeway)
            except tokens.InvalidToken:
                self._forget(token)
                raise
            return dict(claims)
        claims, key = tokens.access_token_verification(
            token, keys=keys, issuer=issuer, audience=audience, algorithms=algorithms, leeway=leeway, now=now
        )
        if self.size > 0:
            with self._lock:
                self._entries[token] = (expectations, claims, key)
                self._entries.move_to_end(token)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return dict(claims)

    def _forget(self, token):
        with self._lock:
            self._entries.pop(token, None)


def _still_published(keys, key):
    try:
        return keys.signing_key(key.kid) is key
    except UnknownKey:
        return False
