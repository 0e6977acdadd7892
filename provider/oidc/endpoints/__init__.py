"""The machine endpoints Signet owns end to end: token, introspection, revocation, userinfo."""
