"""The second sign-in step, step-up, re-authentication, and the Security page where factors change.

Thin: codes are checked in second_factor.py (under the lockout rules), TOTP and recovery codes live
in totp.py and recovery_codes.py, and how a session signed in is authn.py's.

`require_recent_auth` guards every view that changes a factor (here and in the passkey views): a
session that has not proven who it is within authn.recently_authenticated's window is sent to
/accounts/reauth/ first (a JSON request gets a 403 naming that page).
"""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from provider.audit import audit

from . import authn, factor_notices, mfa_policy, recovery_codes, second_factor, totp
from .mfa_forms import ReauthPasswordForm, RecoveryCodeForm, TotpCodeForm


def safe_next(request, default=None):
    """The `next` URL of this request when it stays on this site (as Django's LoginView checks it)."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return resolve_url(default or settings.LOGIN_REDIRECT_URL)


def with_next(url_name, next_url, **extra):
    """The URL of `url_name` carrying `next` (and `extra` query parameters)."""
    query = {"next": next_url} if next_url else {}
    return reverse(url_name) + ("?" + urlencode({**query, **extra}) if query or extra else "")


def _wants_json(request):
    return (
        "application/json" in request.headers.get("Accept", "") or request.content_type == "application/json"
    )


def require_recent_auth(view):
    """Let a view run only for a session that authenticated recently; else re-authenticate first."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if authn.recently_authenticated(request):
            return view(request, *args, **kwargs)
        # A form's POST cannot be replayed after the detour: come back to the Security page.
        back = request.get_full_path() if request.method == "GET" else reverse("accounts:security")
        reauth_url = with_next("accounts:reauth", back)
        if _wants_json(request):
            message = _("Confirm it is you first: sign in again on the re-authentication page.")
            return JsonResponse(
                {"error": "reauthentication_required", "message": message, "reauth_url": reauth_url},
                status=403,
            )
        return HttpResponseRedirect(reauth_url)

    return guarded


def _locked(request, template, context, outcome):
    context = {**context, "locked_out": outcome.locked}
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(outcome.retry_after)
    return response


def _code_forms(request):
    """The TOTP and recovery-code forms, the one that was posted bound; and which kind was posted."""
    if request.method != "POST":
        return TotpCodeForm(), RecoveryCodeForm(), None
    if f"{RecoveryCodeForm.prefix}-code" in request.POST:
        return TotpCodeForm(), RecoveryCodeForm(request.POST), second_factor.RECOVERY
    return TotpCodeForm(request.POST), RecoveryCodeForm(), second_factor.TOTP


@method_decorator([never_cache, sensitive_post_parameters()], name="dispatch")
class SecondFactorView(View):
    """The second sign-in step after a password (a pending sign-in), or a step-up of a signed-in session.

    A TOTP code, a recovery code or (the passkeys partial) a passkey. Every wrong code counts toward
    the account's lockout.
    """

    template_name = "accounts/mfa_verify.html"

    def _who(self, request):
        """(user, pending) of this step, or None when there is nothing to verify."""
        pending = authn.pending_user(request)
        if pending is not None:
            return pending[0], True
        if request.user.is_authenticated:
            return request.user, False
        return None

    def dispatch(self, request, *args, **kwargs):
        who = self._who(request)
        next_url = safe_next(request)
        if who is None:
            # The half-done sign-in expired (or never was): start again, keeping where it was going.
            messages.error(request, _("Your sign-in took too long. Sign in again."))
            return redirect_to_login(next_url)
        self.user, self.pending = who
        if not mfa_policy.has_second_factor(self.user):
            if self.pending:  # the factor was removed meanwhile: the password alone stands
                authn.sign_in(request=request, user=self.user, methods=authn.pending_user(request)[1])
                return HttpResponseRedirect(next_url)
            return HttpResponseRedirect(with_next("accounts:mfa_setup", next_url))
        self.next_url = next_url
        return super().dispatch(request, *args, **kwargs)

    def context(self, totp_form, recovery_form):
        return {
            "form": totp_form,
            "recovery_form": recovery_form,
            "next": self.next_url,
            "pending": self.pending,
            "pending_email": self.user.email,
            "has_totp": totp.has_totp(self.user),
            "has_passkey": mfa_policy.has_passkey(self.user),
            "recovery_codes_left": recovery_codes.remaining(self.user),
            # A relying party asking for "phr" needs a passkey: the code forms cannot reach it.
            "passkey_only": self.request.GET.get("acr") == authn.ACR_PHISHING_RESISTANT,
        }

    def get(self, request):
        totp_form, recovery_form, _kind = _code_forms(request)
        return render(request, self.template_name, self.context(totp_form, recovery_form))

    def post(self, request):
        totp_form, recovery_form, kind = _code_forms(request)
        form = recovery_form if kind == second_factor.RECOVERY else totp_form
        context = self.context(totp_form, recovery_form)
        if not form.is_valid():
            return render(request, self.template_name, context)
        outcome = second_factor.code_check(
            request=request, user=self.user, kind=kind, code=form.cleaned_data["code"]
        )
        if outcome.locked:
            return _locked(request, self.template_name, context, outcome)
        if not outcome.ok:
            form.add_error("code", _("That code is not correct, or was used already."))
            return render(request, self.template_name, context)
        if self.pending:
            methods = authn.pending_user(request)[1]
            authn.sign_in(request=request, user=self.user, methods=[*methods, authn.OTP])
        else:
            authn.step_up(request=request, methods=[authn.OTP])
            audit("mfa.step_up", actor=self.user, method=kind)
        return HttpResponseRedirect(self.next_url)


@method_decorator([never_cache, sensitive_post_parameters()], name="dispatch")
class ReauthView(View):
    """Prove again who you are (password, or a code) before changing how you sign in."""

    template_name = "accounts/reauth.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.next_url = safe_next(request, "accounts:security")
        return super().dispatch(request, *args, **kwargs)

    def context(self, password_form, totp_form):
        return {
            "form": password_form,
            "totp_form": totp_form,
            "next": self.next_url,
            "has_totp": totp.has_totp(self.request.user),
            "has_passkey": mfa_policy.has_passkey(self.request.user),
        }

    def get(self, request):
        return render(request, self.template_name, self.context(ReauthPasswordForm(), TotpCodeForm()))

    def post(self, request):
        user = request.user
        if "code" in request.POST:
            password_form, totp_form = ReauthPasswordForm(), TotpCodeForm(request.POST)
            form, method = totp_form, authn.OTP
        else:
            password_form, totp_form = ReauthPasswordForm(request.POST), TotpCodeForm()
            form, method = password_form, authn.PWD
        context = self.context(password_form, totp_form)
        if not form.is_valid():
            return render(request, self.template_name, context)
        if method == authn.OTP:
            outcome = second_factor.code_check(
                request=request, user=user, kind=second_factor.TOTP, code=form.cleaned_data["code"]
            )
            if outcome.locked:
                return _locked(request, self.template_name, context, outcome)
            ok = outcome.ok
        else:
            # authenticate() runs the lockout backend first and counts a wrong password like the login page.
            ok = (
                authenticate(request, username=user.get_username(), password=form.cleaned_data["password"])
                == user
            )
            if getattr(request, "axes_locked_out", False):
                request.axes_locked_out = False
                return _locked(request, self.template_name, context, second_factor._lock(request))
        if not ok:
            form.add_error(None if method == authn.PWD else "code", _("That is not correct."))
            return render(request, self.template_name, context)
        authn.step_up(request=request, methods=[method])
        return HttpResponseRedirect(self.next_url)


@method_decorator(never_cache, name="dispatch")
class SecurityView(View):
    """The account's Security page: the authenticator app, recovery codes left, passkeys."""

    def get(self, request):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        user = request.user
        context = {
            "has_totp": totp.has_totp(user),
            "recovery_codes_left": recovery_codes.remaining(user),
            "has_second_factor": mfa_policy.has_second_factor(user),
            "mfa_required": mfa_policy.mfa_required(),
        }
        return render(request, "accounts/security.html", context)


def _show_recovery_codes(request, codes, next_url):
    response = render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "next": next_url})
    response["Cache-Control"] = "no-store"
    return response


@method_decorator([never_cache, sensitive_post_parameters(), require_recent_auth], name="dispatch")
class TotpEnrolView(View):
    """Set up an authenticator app: a QR code and the seed in text, confirmed by a first code.

    Also the enrolment step of a sign-in that must use a second factor (`setup`): the same page,
    telling why, then on to `next`.
    """

    template_name = "accounts/mfa_totp_enrol.html"
    during_sign_in = False

    def dispatch(self, request, *args, **kwargs):
        self.next_url = safe_next(request, "accounts:security")
        return super().dispatch(request, *args, **kwargs)

    def render_page(self, request, form, enrolment, status=200):
        context = {
            "form": form,
            "enrolment": enrolment,
            "next": self.next_url,
            "setup": self.during_sign_in,
            "has_second_factor": mfa_policy.has_second_factor(request.user),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request):
        if self.during_sign_in and mfa_policy.has_second_factor(request.user):
            # Set up meanwhile (a passkey from this page's passkeys section): prove it, then go on.
            return HttpResponseRedirect(with_next("accounts:login_verify", self.next_url))
        enrolment = totp.totp_begin(user=request.user)
        if enrolment is None:
            if self.during_sign_in:  # already has one: the sign-in continues with it
                return HttpResponseRedirect(with_next("accounts:login_verify", self.next_url))
            messages.info(
                request, _("An authenticator app is already set up. Remove it first to set up another.")
            )
            return HttpResponseRedirect(reverse("accounts:security"))
        return self.render_page(request, TotpCodeForm(), enrolment)

    def post(self, request):
        user = request.user
        form = TotpCodeForm(request.POST)
        if not form.is_valid() or not totp.totp_confirm(user=user, code=form.cleaned_data["code"]):
            if form.is_valid():
                form.add_error(
                    "code", _("That code is not correct. Check the time on your phone and try again.")
                )
            enrolment = totp.totp_begin(user=user)
            if enrolment is None:
                return HttpResponseRedirect(reverse("accounts:security"))
            return self.render_page(request, form, enrolment)
        # The first code proved the app: the session now has two factors.
        authn.step_up(request=request, methods=[authn.OTP])
        audit("mfa.totp_added", actor=user)
        factor_notices.factor_notify(user=user, event=factor_notices.ADDED, factor=_("authenticator app"))
        if recovery_codes.remaining(user) == 0:
            codes = recovery_codes.recovery_codes_generate(user=user)
            audit("mfa.recovery_codes_generated", actor=user, count=len(codes))
            return _show_recovery_codes(request, codes, self.next_url)
        messages.success(request, _("Your authenticator app is set up."))
        return HttpResponseRedirect(self.next_url)


class MfaSetupView(TotpEnrolView):
    """The enrolment step of a sign-in whose client (or SIGNET_MFA) asks for a second factor."""

    during_sign_in = True


@method_decorator([never_cache, require_recent_auth], name="dispatch")
class TotpRemoveView(View):
    http_method_names = ["post"]

    def post(self, request):
        user = request.user
        if totp.totp_remove(user=user):
            audit("mfa.totp_removed", actor=user)
            factor_notices.factor_notify(
                user=user, event=factor_notices.REMOVED, factor=_("authenticator app")
            )
            if not mfa_policy.has_second_factor(user):
                # Recovery codes stand in for a lost factor; with none left they would be a factor themselves.
                recovery_codes.recovery_codes_delete(user=user)
            messages.success(request, _("Your authenticator app was removed."))
        return HttpResponseRedirect(reverse("accounts:security"))


@method_decorator([never_cache, require_recent_auth], name="dispatch")
class RecoveryCodesView(View):
    """New recovery codes (the old ones stop working), shown once."""

    http_method_names = ["post"]

    def post(self, request):
        user = request.user
        if not mfa_policy.has_second_factor(user):
            messages.error(request, _("Set up an authenticator app or a passkey first."))
            return HttpResponseRedirect(reverse("accounts:security"))
        codes = recovery_codes.recovery_codes_generate(user=user)
        audit("mfa.recovery_codes_generated", actor=user, count=len(codes))
        return _show_recovery_codes(request, codes, reverse("accounts:security"))
