"""The client credentials grant (RFC 6749 4.4): a client acting on its own behalf, no user.

Nothing is stored and nothing is read but the (cached) client: the token is self-contained, and a
disabled client's tokens end with it at introspection.
"""

from django.conf import settings

from .. import issuance
from ..models import Client
from ..scopes import USER_SCOPES
from .rules import allowed_resources, invalid_scope, requested_scopes

CLIENT_GRANTS = (Client.GRANT_CLIENT_CREDENTIALS,)
ATOMIC = False


def issue(ctx):
    raw = (ctx.param("scope") or "").split()
    if USER_SCOPES & set(raw):
        raise invalid_scope("A client acting on its own behalf gets no user scopes.")
    within = set(ctx.client.scope_list) & set(settings.SIGNET_SCOPES) - USER_SCOPES
    ctx.scopes = requested_scopes(ctx, within=within)
    ctx.resources = allowed_resources(ctx)
    return issuance.token_response(ctx, with_refresh_token=False, with_id_token=False)
