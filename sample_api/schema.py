"""OpenAPI (drf-spectacular) description of the Bearer scheme the sample API accepts."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "sample_api.authentication.BearerTokenAuthentication"
    name = "signetAccessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An RFC 9068 access token (typ at+jwt) issued by Signet for this API's audience.",
        }
