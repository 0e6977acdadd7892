"""The user's side of the device flow (RFC 8628 3.3): /device asks for the code, then Approve or Deny.

Thin: the user-code rules and the answer live in device.py. The user signs in first (the login page
brings them back with the code kept); the page then shows which client asks for what, as the consent
page does. Wrong codes are counted per client address and per browser session (RFC 8628 5.1: the
user code is short, so guessing must be limited), and a session over the limit looks up nothing.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views import View
from django.views.decorators.cache import never_cache

from accounts import authn, mfa_policy
from accounts.sessions import session_auth_time, session_sid
from provider import context, ratelimit

from . import access_policy, device
from .authorization import ENROL, authentication_step

TEMPLATE = "oidc/device.html"
REFUSED = "oidc/access_denied.html"
# The form's buttons: either answers the request the hidden user_code names.
APPROVE, DENY = "approve", "deny"


def _limits(request):
    """(group, key) pairs a wrong code counts against: the client address and the browser session."""
    return (
        ("signet.device_code.address", context.limit_key(request) or "unknown"),
        ("signet.device_code.session", request.session.session_key or "none"),
    )


def guessing_limited(request):
    """Seconds until this address or session may try a code again, or None when it may now."""
    rate = settings.SIGNET_RATELIMIT_DEVICE_CODE
    if not rate:
        return None
    for group, key in _limits(request):
        usage = ratelimit.peek(group=group, rate=rate, key=key)
        if usage is not None and usage.count >= usage.limit:
            return usage.retry_after
    return None


def wrong_code_counted(request):
    rate = settings.SIGNET_RATELIMIT_DEVICE_CODE
    if rate:
        for group, key in _limits(request):
            ratelimit.hit(group=group, rate=rate, key=key)


def owed_step(request, client):
    """The redirect to the second sign-in step (or its set-up) this client's MFA policy asks, or None."""
    step = authentication_step(user=request.user, methods=authn.session_methods(request), client=client)
    if step is None or not step.required:
        return None
    here = (
        reverse("oauth2_provider:device") + "?" + urlencode({"user_code": request.POST.get("user_code", "")})
    )
    if step.action == ENROL:
        return HttpResponseRedirect(reverse("accounts:mfa_setup") + "?" + urlencode({"next": here}))
    return HttpResponseRedirect(reverse("accounts:login_verify") + "?" + urlencode({"next": here}))


def _acr(request, client):
    # As on a code: the acr is recorded when an MFA policy applied to the client
    # (endpoints/authorize.py: recorded_acr).
    if not mfa_policy.mfa_required(client):
        return ""
    return authn.acr_for(authn.session_methods(request))


@method_decorator(never_cache, name="dispatch")
class DeviceView(View):
    http_method_names = ["get", "post", "head", "options"]

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            code = request.POST.get("user_code") if request.method == "POST" else request.GET.get("user_code")
            here = reverse("oauth2_provider:device") + ("?" + urlencode({"user_code": code}) if code else "")
            return redirect_to_login(here)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        code = request.GET.get("user_code", "")[:32]
        return self.page("enter", user_code=code)

    def post(self, request):
        retry_after = guessing_limited(request)
        if retry_after is not None:
            minutes = max(1, (retry_after + 59) // 60)
            return self.page("limited", status=429, retry_after_minutes=minutes)
        typed = request.POST.get("user_code", "")
        row = device.device_authorization_pending(typed)
        if row is None:
            wrong_code_counted(request)
            error = gettext(
                "That code is unknown or has expired. Check the code your device shows and try again."
            )
            return self.page("enter", status=400, user_code=typed[:32], error=error)
        owed = owed_step(request, row.client)
        if owed is not None:
            return owed
        if not access_policy.user_may_use(row.client, request.user):
            # Issue 18: a user outside the client's groups is told so here, at Signet; the device
            # hears access_denied at its next poll instead of waiting for the code to expire.
            device.device_authorization_decide(row=row, user=request.user, approve=False)
            return render(request, REFUSED, access_policy.refusal_context(row.client), status=403)
        answer = request.POST.get("answer")
        if answer not in (APPROVE, DENY):
            return self.confirm(row)
        decided = device.device_authorization_decide(
            row=row,
            user=request.user,
            approve=answer == APPROVE,
            auth_time=session_auth_time(request),
            sid=session_sid(request),
            acr=_acr(request, row.client),
            amr=authn.session_methods(request),
        )
        if not decided:  # answered in another tab, or expired, since the lookup
            error = gettext(
                "That code is unknown or has expired. Check the code your device shows and try again."
            )
            return self.page("enter", status=400, user_code="", error=error)
        return self.page(
            "approved" if answer == APPROVE else "denied", client_name=row.client.name or row.client.client_id
        )

    def confirm(self, row):
        scopes = row.scope_list
        return self.page(
            "confirm",
            user_code=device.user_code_display(row.user_code),
            client_name=row.client.name or row.client.client_id,
            scope_descriptions=[
                description
                for scope, description in settings.SIGNET_SCOPES.items()
                if scope in scopes and scope != "openid"
            ],
            approve=APPROVE,
            deny=DENY,
        )

    def page(self, state, *, status=200, **context_data):
        return render(self.request, TEMPLATE, {"state": state, **context_data}, status=status)
