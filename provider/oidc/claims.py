"""Pure claim selection: (user, granted scopes, claims request) → claims. Imports no DOT."""

# OIDC Core 5.4: which scope releases which standard claim.
SCOPE_CLAIMS = {
    "profile": ("name", "given_name", "family_name", "updated_at"),
    "email": ("email", "email_verified"),
}
CLAIM_SCOPE = {claim: scope for scope, claims in SCOPE_CLAIMS.items() for claim in claims}
SUPPORTED_CLAIMS = ["sub", *CLAIM_SCOPE]


def user_claims(user):
    """Every standard claim Signet holds for a user."""
    return {
        "sub": str(user.pk),
        "name": user.full_name or None,
        "given_name": user.first_name or None,
        "family_name": user.last_name or None,
        "updated_at": int(user.updated_at.timestamp()) if user.updated_at else None,
        "email": user.email,
        "email_verified": bool(user.email_verified),
    }


def requested_claim_names(claims_request, target):
    """Names asked for in the OIDC Core 5.5 `claims` parameter for "userinfo" or "id_token"."""
    if not isinstance(claims_request, dict):
        return set()
    section = claims_request.get(target)
    return set(section) if isinstance(section, dict) else set()


def claims_for(user, scopes, *, claims_request=None, target="userinfo"):
    """The claims released for these granted scopes, plus those named in the claims request.

    A claims request can ask for individual claims even when their scope was not granted
    (OIDC Core 5.5); claims Signet does not hold are left out, never invented.
    """
    available = user_claims(user)
    names = {"sub"}
    for scope in scopes:
        names.update(SCOPE_CLAIMS.get(scope, ()))
    names |= requested_claim_names(claims_request, target) & set(available)
    return {name: available[name] for name in names if available.get(name) is not None}
