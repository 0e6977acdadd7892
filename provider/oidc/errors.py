"""Protocol errors and how each endpoint answers them.

RFC 6749 5.2 JSON at the token, introspection and revocation endpoints (with a Basic challenge on a
401 invalid_client), RFC 6750 3 Bearer challenges at userinfo. Raised anywhere in a request's
pipeline, answered once at the endpoint.
"""

from django.http import JsonResponse

# RFC 6749 5.2: a 401 invalid_client carries a challenge for the scheme the client should use.
CLIENT_CHALLENGE = 'Basic realm="Signet token endpoint", charset="UTF-8"'


class OAuthError(Exception):
    """An RFC 6749 5.2 error: its code, a description for the client's developer, its status."""

    def __init__(self, error, description=None, *, status=400):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = 401 if error == "invalid_client" else status


def invalid_request(description):
    return OAuthError("invalid_request", description)


def invalid_grant(description):
    return OAuthError("invalid_grant", description)


def json_error(error, description=None, *, status=400):
    """RFC 6749 5.2: the error as JSON, never cached (5.1 asks the same of every token response)."""
    body = {"error": error}
    if description:
        body["error_description"] = description
    response = JsonResponse(body, status=status)
    response.signet_oauth_error = error  # counted by provider.metrics
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    if status == 401:
        response["WWW-Authenticate"] = CLIENT_CHALLENGE
    return response


def error_response(error):
    return json_error(error.error, error.description, status=error.status)


def bearer_challenge(status, error=None, description=None):
    """RFC 6750 3: a Bearer challenge; no error code when the request carried no token at all."""
    params = []
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{description}"')
    body = {"error": error, **({"error_description": description} if description else {})} if error else {}
    response = JsonResponse(body, status=status)
    response.signet_oauth_error = error  # counted by provider.metrics
    response["WWW-Authenticate"] = "Bearer" + (" " + ", ".join(params) if params else "")
    response["Cache-Control"] = "no-store"
    return response
