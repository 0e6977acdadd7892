"""The account's Sessions page: where the user is signed in, and ending a sign-in from another browser."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache

from . import authn, session_records
from .selectors import client_display_name
from .sessions import session_sid

# What the page says for each RFC 8176 method a sign-in used.
METHOD_NAMES = {
    authn.PWD: gettext_lazy("password"),
    authn.OTP: gettext_lazy("one-time code"),
    authn.HWK: gettext_lazy("security key or passkey"),
    authn.SWK: gettext_lazy("passkey"),
}

# The first name found in the user agent wins: Edge and Opera also say "Chrome", Chrome says "Safari".
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def browser_label(user_agent):
    """ "Firefox on Linux" from a user agent string, or the start of the string when neither is known."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in SYSTEMS if mark in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or user_agent[:60] or _("unknown browser")


def session_rows(*, user, current_sid):
    """The user's live sign-ins as the page shows them, this browser's first."""
    rows = []
    for record in session_records.live_sign_ins(user=user):
        rows.append(
            {
                "id": record.pk,
                "current": record.sid == current_sid,
                "browser": browser_label(record.user_agent),
                "ip_address": record.ip_address,
                "started_at": record.started_at,
                "last_seen_at": record.last_seen_at,
                "methods": [METHOD_NAMES[m] for m in record.methods if m in METHOD_NAMES],
                "apps": [name for name in (client_display_name(c) for c in record.clients) if name],
            }
        )
    return sorted(rows, key=lambda row: not row["current"])


@method_decorator(never_cache, name="dispatch")
class SessionsView(LoginRequiredMixin, View):
    def get(self, request):
        rows = session_rows(user=request.user, current_sid=session_sid(request))
        return render(request, "accounts/sessions.html", {"sessions": rows})


@method_decorator(never_cache, name="dispatch")
class SessionEndView(LoginRequiredMixin, View):
    """POST only (CSRF): end one of the user's other sign-ins, by its number on the page."""

    http_method_names = ["post"]

    def post(self, request, pk):
        record = next((r for r in session_records.live_sign_ins(user=request.user) if r.pk == pk), None)
        # Another user's sign-in, or one already ended, is not found: the numbers prove nothing.
        if record is None or record.sid == session_sid(request):
            raise Http404
        session_records.sign_in_end(user=request.user, sid=record.sid, reason="user")
        messages.success(request, _("That sign-in was ended."))
        return HttpResponseRedirect(reverse("accounts:sessions"))


@method_decorator(never_cache, name="dispatch")
class SessionsEndOthersView(LoginRequiredMixin, View):
    """POST only (CSRF): end every sign-in of the user but this browser's."""

    http_method_names = ["post"]

    def post(self, request):
        current = session_sid(request)
        ended = 0
        for record in session_records.live_sign_ins(user=request.user):
            if record.sid != current:
                ended += session_records.sign_in_end(user=request.user, sid=record.sid, reason="user")
        messages.success(request, _("Your other sign-ins were ended."))
        return HttpResponseRedirect(reverse("accounts:sessions"))
