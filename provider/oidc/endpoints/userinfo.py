"""The UserInfo endpoint (OIDC Core 5.3): GET or POST, the token in the Authorization header or the
form body (RFC 6750 2.1, 2.2), never in the query (RFC 9700 4.3.2)."""

import json

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..access_tokens import active_access_token
from ..claims import claims_for
from ..consent import named_claim_scopes, scopes_still_granted
from ..errors import bearer_challenge
from ..params import form_problem, request_encoding_problem
from .form_endpoints import no_store


@csrf_exempt
@no_store
@require_http_methods(["GET", "POST"])
def userinfo(request):
    token, problem = _presented_token(request)
    if problem is not None:
        return problem
    active = active_access_token(token)
    if active is None:
        return bearer_challenge(401, "invalid_token", "The access token is invalid, expired or revoked.")
    if active.user is None or "openid" not in active.scopes:
        # RFC 6750 3.1 and OIDC Core 5.3.3: a valid token without the openid scope.
        return bearer_challenge(403, "insufficient_scope", "The access token lacks the openid scope.")
    response = HttpResponse(json.dumps(_claims(active)), content_type="application/json")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _presented_token(request):
    """(token, None), or (None, the Bearer challenge answering a request that presents none well)."""
    problem = form_problem(request) if request.method == "POST" else request_encoding_problem(request)
    if problem is not None:
        return None, bearer_challenge(400, "invalid_request", problem)
    if "access_token" in request.GET:
        # RFC 9700 4.3.2: access tokens MUST NOT travel in the query string (they end up in logs).
        return None, bearer_challenge(
            400, "invalid_request", "Send the access token in a header or form body."
        )
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    in_header = scheme.lower() == "bearer"
    in_body = request.method == "POST" and "access_token" in request.POST
    if in_header and in_body:
        # RFC 6750 2: clients MUST NOT use more than one method to send the token.
        return None, bearer_challenge(400, "invalid_request", "Send the access token one way only.")
    if not in_header and not in_body:
        return None, bearer_challenge(401)
    return (value.strip() if in_header else request.POST["access_token"]), None


def _claims(active):
    """OIDC Core 5.3.2: claims for the token's scopes and its grant's claims request, as far as the
    client is still allowed them and the user approved them."""
    scopes = scopes_still_granted(client=active.client, granted=active.scopes)
    claims_request = active.grant.userinfo_claims
    return claims_for(
        active.user,
        scopes,
        claims_request=claims_request,
        target="userinfo",
        allowed_scopes=named_claim_scopes(
            user=active.user, client=active.client, granted=scopes, claims_request=claims_request
        ),
    )
