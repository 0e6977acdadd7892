"""The error a passkey ceremony is refused with: apart from accounts/passkeys.py, so the views can name
it without importing py_webauthn (see accounts/passkey_views.py)."""


class PasskeyError(Exception):
    """A refused ceremony: `error` a stable code, `message` for the person, `status` the HTTP status."""

    def __init__(self, error, message, status=400, method=None):
        super().__init__(error)
        self.error = error
        self.message = message
        self.status = status
        self.method = method  # the refused passkey's amr kind (hwk/swk), when it was found
