from urllib.parse import parse_qs, urlsplit

from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from .forms import EmailAuthenticationForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = EmailAuthenticationForm
    redirect_authenticated_user = False

    def get_initial(self):
        initial = super().get_initial()
        # OIDC Core 3.1.2.1: login_hint pre-fills the identifier the user is asked for.
        hint = _authorize_param(self.get_redirect_url(), "login_hint")
        if hint:
            initial["username"] = hint
        return initial


class LogoutView(auth_views.LogoutView):
    template_name = "accounts/logged_out.html"


class ProfileView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/profile.html"


def _authorize_param(next_url, name):
    if not next_url:
        return None
    values = parse_qs(urlsplit(next_url).query).get(name)
    return values[0][:254] if values else None
