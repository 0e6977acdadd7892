"""Pure claim selection: (user, granted scopes, claims request) → claims. Imports no DOT."""

# OIDC Core 5.4: which scope releases which standard claim.
SCOPE_CLAIMS = {
    "profile": ("name", "given_name", "family_name", "updated_at"),
    "email": ("email", "email_verified"),
    # Not a standard claim: the names of the user's groups (auth.Group), for access decisions at
    # relying parties and resource servers.
    "groups": ("groups",),
}
CLAIM_SCOPE = {claim: scope for scope, claims in SCOPE_CLAIMS.items() for claim in claims}
SUPPORTED_CLAIMS = ["sub", *CLAIM_SCOPE]


def user_groups(user):
    """The `groups` claim: the names of the user's groups, sorted (one query)."""
    return sorted(user.groups.values_list("name", flat=True))


def user_claims(user):
    """Every standard claim Signet holds for a user (not `groups`: that one costs a query)."""
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


def scopes_of_requested_claims(claims_request):
    """The scopes behind the claims a `claims` request names (for consent: the user approves them)."""
    names = requested_claim_names(claims_request, "userinfo") | requested_claim_names(
        claims_request, "id_token"
    )
    return {CLAIM_SCOPE[name] for name in names if name in CLAIM_SCOPE}


def claims_request_within(claims_request, scopes):
    """The claims request without the claims whose scope is not among `scopes`.

    What a grant keeps of a claims request: only what the user was shown and approved, and the
    client was allowed, when the grant was made. Claims no scope releases (sub, acr) stay.
    """
    if not isinstance(claims_request, dict):
        return claims_request
    scopes = set(scopes)
    narrowed = dict(claims_request)
    for target in ("userinfo", "id_token"):
        wanted = claims_request.get(target)
        if isinstance(wanted, dict):
            narrowed[target] = {
                name: spec
                for name, spec in wanted.items()
                if name not in CLAIM_SCOPE or CLAIM_SCOPE[name] in scopes
            }
    return narrowed


def section(claims_request, target):
    """Only the part of a claims request meant for one target, or None when it names nothing."""
    names = requested_claim_names(claims_request, target)
    return {target: claims_request[target]} if names else None


def claims_for(user, scopes, *, claims_request=None, target="userinfo", allowed_scopes=()):
    """The claims released for these granted scopes, plus those named in the claims request.

    A claims request can ask for single claims whose scope was not requested (OIDC Core 5.5,
    essential or not); they are released when their scope is in `allowed_scopes`, which callers
    narrow to what the client is still allowed and the user approved (consent.named_claim_scopes).
    Claims Signet does not hold are left out.
    """
    names = {"sub"}
    for scope in scopes:
        names.update(SCOPE_CLAIMS.get(scope, ()))
    for name in requested_claim_names(claims_request, target):
        if CLAIM_SCOPE.get(name) in allowed_scopes:
            names.add(name)
    available = user_claims(user)
    if "groups" in names:
        available["groups"] = user_groups(user)
    return {name: available[name] for name in names if available.get(name) is not None}
