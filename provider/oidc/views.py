"""The consents account page, and what the browser endpoints (/authorize, /logout) share: reading their
parameters exactly, and answering a posted request as the GET it is equivalent to."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView
from oauth2_provider.models import get_application_model

from .consent import consent_revoke, consents_of
from .params import request_encoding_problem


def readable_problem(request):
    """Why a browser request's parameters cannot be read exactly (params.py), or None."""
    try:
        return request_encoding_problem(request)
    except (SuspiciousOperation, ValueError):
        return gettext("The request could not be read.")


def redirect_post_as_get(request):
    """303 a form-encoded POST to the same URL with its parameters in the query (repeats kept).

    OIDC Core 3.1.2.1 and RP-Initiated Logout 2 require POST support. Answering it as the GET it
    is equivalent to keeps one code path, and the login page's `next` (a URL) can carry it. It also
    brings the session cookie back: a cross-site POST does not send a SameSite=Lax cookie, the
    top-level GET it is redirected to does.
    """
    params = list(request.GET.lists()) + list(request.POST.lists())
    query = urlencode([(k, v) for k, values in params for v in values])
    response = HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)
    response.status_code = 303
    return response


@method_decorator(never_cache, name="dispatch")
class ConsentListView(LoginRequiredMixin, TemplateView):
    """The account page listing the clients a user has allowed, each with a revoke button."""

    template_name = "oidc/consents.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["consents"] = [
            {
                "consent": consent,
                "descriptions": [
                    d
                    for s, d in settings.SIGNET_SCOPES.items()
                    if s in consent.scopes.split() and s != "openid"
                ],
            }
            for consent in consents_of(user=self.request.user)
        ]
        return context

    def post(self, request, *args, **kwargs):
        client = get_object_or_404(get_application_model(), client_id=request.POST.get("client_id", ""))
        consent_revoke(user=request.user, client=client)
        return redirect("oauth2_provider:consents")
