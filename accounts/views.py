"""Sign-in, sign-out, password reset and the account page. Thin: Django's auth views do the work."""

import logging
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView, UpdateView

from provider import tasks
from provider.audit import audit

from . import authn, mfa_policy
from .authn_views import with_next
from .forms import EmailAuthenticationForm, PasswordResetRequestForm, ProfileForm
from .selectors import apps_a_password_change_ends, client_display_name
from .services import password_changed_notify, password_reset_throttle

log = logging.getLogger("signet.accounts")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = False

    def get_initial(self):
        initial = super().get_initial()
        # OIDC Core 3.1.2.1: login_hint pre-fills the identifier the user is asked for.
        hint = authorize_param(self.get_redirect_url(), "login_hint")
        if hint:
            initial["username"] = hint
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The relying party the user is signing in to, named as its operator registered it.
        context["client_name"] = client_display_name(authorize_param(self.get_redirect_url(), "client_id"))
        # Django names the site after the request's host; the pages name it as the operator brands it.
        context["site_name"] = settings.SIGNET_SITE_NAME
        return context

    def form_valid(self, form):
        """A password is one factor: with a second one set up, the sign-in waits for it (authn.py)."""
        user = form.get_user()
        # get_redirect_url() is `next` only when it stays on this site, as Django's LoginView checks it.
        next_url = self.get_redirect_url()
        if mfa_policy.has_second_factor(user):
            if self.request.user.is_authenticated and self.request.user.pk != user.pk:
                # Someone else's session must not stay signed in while this one waits for its step.
                auth_logout(self.request)
            authn.pending_start(request=self.request, user=user, methods=[authn.PWD])
            return HttpResponseRedirect(with_next("accounts:login_verify", next_url))
        authn.sign_in(request=self.request, user=user, methods=[authn.PWD], backend=user.backend)
        if mfa_policy.mfa_required():
            # SIGNET_MFA=required: set a second factor up now (a client's own policy is /authorize's).
            return HttpResponseRedirect(with_next("accounts:mfa_setup", next_url))
        return HttpResponseRedirect(self.get_success_url())


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule: a link can't sign you out); then the "signed out" page, or a safe `next`."""

    template_name = "accounts/logged_out.html"

    def get_context_data(self, **kwargs):
        # Django names the site after the request's host; the pages name it as the operator brands it.
        return {**super().get_context_data(**kwargs), "site_name": settings.SIGNET_SITE_NAME}

    def get_default_redirect_url(self):
        # Rendering here, not redirecting to LOGOUT_REDIRECT_URL, tells the user it worked.
        return self.request.path


@method_decorator(never_cache, name="dispatch")
class ProfileView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/profile.html"


@method_decorator(never_cache, name="dispatch")
class ProfileEditView(LoginRequiredMixin, UpdateView):
    template_name = "accounts/profile_edit.html"
    form_class = ProfileForm
    success_url = reverse_lazy("accounts:profile")

    def get_object(self, queryset=None):
        return self.request.user

    def form_valid(self, form):
        messages.success(self.request, _("Your profile was saved."))
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Named before the user confirms: a new password ends every app's sign-in, not just this one.
        context["ending_apps"] = apps_a_password_change_ends(user=self.request.user)
        return context

    def form_valid(self, form):
        # RFC 9700 4.14: the new password and the end of what the old one obtained commit together.
        with transaction.atomic():
            response = super().form_valid(form)
            password_changed_notify(user=form.user, reason="change")
        audit("password.changed", actor=form.user)
        messages.success(self.request, _("Your password was changed."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Always answers "sent" whether or not the email has an account (no account enumeration)."""

    template_name = "accounts/password_reset.html"
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        over = password_reset_throttle(request=self.request, email=form.cleaned_data["email"])
        if over is not None:
            limit, retry_after = over
            log.warning("password reset limit per %s reached", limit)
            if limit == "email":
                # The "sent" page, and no mail: a refusal would tell that someone asked for this
                # address recently, and the page already says the link may not come.
                return HttpResponseRedirect(self.get_success_url())
            # Per address, a plain 429: it says nothing about any account, and tells a person, or a
            # script, to wait rather than to try again.
            response = render(
                self.request,
                "accounts/password_reset_limited.html",
                {"retry_after_minutes": -(-retry_after // 60)},
                status=429,
            )
            response["Retry-After"] = str(retry_after)
            response["Cache-Control"] = "no-store"
            return response
        audit("password.reset_requested", actor=form.cleaned_data["email"][:254])
        # The worker composes and sends the mail (accounts/reset_mail.py): the answer takes as long
        # whether or not the address has an account, and a slow mail server delays no one.
        for user in form.get_users(form.cleaned_data["email"]):
            tasks.password_reset_mail.enqueue(user_id=str(user.pk), language=get_language())
        return HttpResponseRedirect(self.get_success_url())


@method_decorator(never_cache, name="dispatch")
class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    post_reset_login = False

    def form_valid(self, form):
        # Whoever learnt the old password keeps no token past the reset (RFC 6819 5.2.2.3). The
        # user's other browser sessions end with it: their session hash no longer matches.
        with transaction.atomic():
            response = super().form_valid(form)
            password_changed_notify(user=form.user, reason="reset")
        audit("password.reset", actor=form.user)
        from .lockout import forget_account_failures

        # Proven the owner: failed sign-ins by others no longer lock or slow them (accounts/lockout.py).
        forget_account_failures(form.user)
        return response


@method_decorator(never_cache, name="dispatch")
class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def authorize_param(next_url, name):
    """A parameter of the authorization request a login page's `next` URL carries, or None."""
    if not next_url:
        return None
    values = parse_qs(urlsplit(next_url).query).get(name)
    return values[0][:254] if values else None
