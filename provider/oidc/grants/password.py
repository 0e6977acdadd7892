"""The resource owner password grant (RFC 6749 4.3), legacy: RFC 9700 2.4 says it MUST NOT be used.

Only a client an operator registered for it may use it (`clients create --grant password`). The
password is checked through Django's authenticate() with the real request, so the sign-in lockouts
(django-axes) count these attempts as they count the login page's.
"""

import copy

from django.conf import settings
from django.contrib.auth import authenticate

from provider.audit import audit

from .. import issuance, refresh
from ..access_policy import user_may_use
from ..errors import invalid_grant, invalid_request
from ..models import Client
from .rules import allowed_resources, requested_scopes

CLIENT_GRANTS = (Client.GRANT_PASSWORD,)
ATOMIC = True


def issue(ctx):
    username, password = ctx.param("username"), ctx.param("password")
    if username is None or password is None:
        raise invalid_request("username and password are required.")
    scopes = requested_scopes(
        ctx, within=set(ctx.client.scope_list) & set(settings.SIGNET_SCOPES), default=["openid"]
    )
    resources = allowed_resources(ctx)
    try:
        # A copy: django-axes marks the request a lock applies to, and the token endpoint's answer to
        # the attempt that reaches a limit stays invalid_grant (its password was checked); the next
        # attempts are refused before any check and answered 429 (accounts.lockout).
        user = authenticate(copy.copy(ctx.http), username=username, password=password)
    except ValueError:
        user = None  # a NUL in the username: PostgreSQL refuses the lookup; no account has one
    valid = user is not None and user.is_active
    audit(
        "token.password_grant." + ("succeeded" if valid else "failed"),
        actor=user.pk if valid else None,
        client_id=ctx.client.client_id,
    )
    if not valid:
        raise invalid_grant("Invalid credentials given.")
    if not user_may_use(ctx.client, user):  # the client's allowed groups, as at /authorize
        raise invalid_grant("The user is not allowed to use this client.")
    ctx.user, ctx.scopes, ctx.resources = user, scopes, resources
    ctx.grant = refresh.family_start(
        client=ctx.client,
        user=user,
        scopes=scopes,
        resources=resources,
        auth_time=ctx.epoch,
        amr=issuance.AMR_PASSWORD,
        now=ctx.now,
    )
    return issuance.token_response(ctx, with_refresh_token=True, with_id_token=False)
