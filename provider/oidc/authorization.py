"""Rules of the authorization endpoint (OIDC Core 3.1.2), as a mixin of SignetValidator."""


class AuthorizationRules:
    """prompt, max_age, id_token_hint and PKCE rules that DOT leaves to the validator."""
