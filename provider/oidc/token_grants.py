"""Rules of the token endpoint (RFC 6749 4-6, RFC 8707, RFC 9700), as a mixin of SignetValidator."""


class TokenGrantRules:
    """Client authentication, refresh rotation and audience rules on top of DOT's validator."""
