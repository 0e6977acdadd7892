"""Which scopes a client may be registered with (RFC 6749 3.3); /authorize and /token check requests
against the client's allowed scopes and SIGNET_SCOPES."""

from django.conf import settings

# Scopes about a user: a client acting on its own behalf (client credentials) has no user to speak of.
USER_SCOPES = frozenset({"openid", "profile", "email", "offline_access", "groups"})


def default_scopes(grant):
    """The scopes a new client of `grant` (a Client.GRANT_* value) may request when none are given."""
    from .models import DEFAULT_ALLOWED_SCOPES, Client

    # RFC 6749 4.4: a client-credentials token speaks for the client, never for a user.
    return [] if grant == Client.GRANT_CLIENT_CREDENTIALS else DEFAULT_ALLOWED_SCOPES.split()


def scope_problems(scopes, *, grant):
    """What is wrong with letting a client of `grant` request `scopes`: one message per rule broken."""
    from .models import Client

    problems = []
    unknown = [s for s in dict.fromkeys(scopes) if s not in settings.SIGNET_SCOPES]
    if unknown:
        problems.append(
            f"unknown scope(s) {', '.join(unknown)}: Signet issues {', '.join(settings.SIGNET_SCOPES)}"
        )
    about_a_user = [s for s in dict.fromkeys(scopes) if s in USER_SCOPES]
    if grant == Client.GRANT_CLIENT_CREDENTIALS and about_a_user:
        problems.append(
            f"a client-credentials client acts for itself and gets no user scopes ({', '.join(about_a_user)})"
        )
    return problems
