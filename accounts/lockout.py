"""How django-axes names an account and answers a locked-out sign-in (settings.AXES_*_CALLABLE)."""

from django.conf import settings
from django.shortcuts import render

from provider.ratelimit import too_many_requests

from .forms import EmailAuthenticationForm

# Pages that show the lockout as a form error; every other path (the token endpoint's password grant)
# gets the protocol's JSON error.
HTML_VIEWS = {"accounts:login", "admin:login"}


def lockout_username(request, credentials):
    """Emails differ only in case for the same account: count their failures together."""
    username = (credentials or {}).get("username")
    if username is None:
        username = request.POST.get("username")
    return username.strip().lower()[:254] if isinstance(username, str) else None


def lockout_message():
    minutes = settings.SIGNET_LOGIN_LOCKOUT_MINUTES
    if minutes:
        return (
            "Too many failed sign-in attempts for this account or from this network. "
            f"Sign-in is paused for {minutes} minutes; try again later."
        )
    return (
        "Too many failed sign-in attempts for this account or from this network. "
        "Ask an administrator to unlock it."
    )


def lockout_response(request, original_response=None, credentials=None):
    """429 with the login page and a clear message, or an RFC 6749 JSON error outside the login pages."""
    match = getattr(request, "resolver_match", None)
    retry_after = settings.SIGNET_LOGIN_LOCKOUT_MINUTES * 60 or 3600
    if match is not None and match.view_name in HTML_VIEWS:
        form = EmailAuthenticationForm(request, initial={"username": lockout_username(request, credentials)})
        context = {"form": form, "locked_out": lockout_message(), "next": request.POST.get("next", "")}
        response = render(request, "accounts/login.html", context, status=429)
        response["Retry-After"] = str(retry_after)
        response["Cache-Control"] = "no-store"
        return response
    return too_many_requests(retry_after, error="invalid_grant", description=lockout_message())
