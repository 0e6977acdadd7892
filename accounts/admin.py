"""Users, and the sign-in lockouts django-axes' records hold, in the admin."""

from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max, Sum
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from provider.admin_view_only import ViewOnlyAdmin
from provider.audit import audit

from . import lockout, mfa_reset, session_records
from .models import SignInSession, User
from .services import password_changed_notify, user_disabled_notify


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class PasswordSetForm(AdminPasswordChangeForm):
    """An operator setting a password ends what the old one obtained, as the user's own change does."""

    @transaction.atomic
    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            password_changed_notify(user=user, reason="admin")
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    change_password_form = PasswordSetForm
    ordering = ("email",)
    list_display = (
        "email",
        "first_name",
        "last_name",
        "email_verified",
        "is_active",
        "is_staff",
        "date_joined",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "email_verified")
    search_fields = ("email", "first_name", "last_name", "id")
    readonly_fields = ("id", "date_joined", "updated_at", "last_login", "second_factors")
    actions = ["mfa_reset_action", "end_sign_ins_action"]
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "email_verified")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "updated_at")}),
        ("Second factors", {"fields": ("second_factors",)}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    @admin.display(description="Second factors")
    def second_factors(self, obj):
        """Which factors the user has (never a secret): reset them with the "Reset second factors" action."""
        if obj is None or obj.pk is None:
            return "-"
        factors = mfa_reset.second_factors_of(obj)
        passkeys = ", ".join(factors["passkeys"]) or "none"
        return (
            f"Authenticator app: {'on' if factors['totp'] else 'off'}; "
            f"recovery codes left: {factors['recovery_codes_left']}; "
            f"passkeys ({len(factors['passkeys'])}): {passkeys}"
        )

    @admin.action(description="Reset second factors (authenticator app, recovery codes, passkeys)")
    def mfa_reset_action(self, request, queryset):
        """Asks for a reason first; each reset is audited (mfa.reset) and mailed to the user."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        reason = (request.POST.get("reason") or "").strip()[:500]
        if "apply" not in request.POST or not reason:
            context = {
                **self.admin_site.each_context(request),
                "title": "Reset second factors",
                "users": list(queryset),
                "error": "Give a reason." if "apply" in request.POST else "",
            }
            return TemplateResponse(request, "admin/accounts/user/mfa_reset.html", context)
        for user in queryset:
            mfa_reset.mfa_reset(user=user, actor=request.user, reason=reason)
        self.message_user(request, f"Second factors reset for {queryset.count()} user(s).", messages.SUCCESS)
        return None

    @admin.action(description="End all sign-in sessions (signs out every browser, tells the apps)")
    def end_sign_ins_action(self, request, queryset):
        if not self.has_change_permission(request):
            raise PermissionDenied
        ended = sum(
            session_records.user_sign_ins_end(user=user, reason="admin", actor=request.user)
            for user in queryset
        )
        self.message_user(request, f"{ended} sign-in session(s) ended.", messages.SUCCESS)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            # Unticking "active" ends the user's sessions and grants, as `manage.py users disable` does.
            if not obj.is_active:
                user_disabled_notify(user=obj)
            audit("user.enabled" if obj.is_active else "user.disabled", actor=request.user, user=str(obj.pk))


class LiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("live", "Signed in"), ("ended", "Ended"))

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(ended_at__isnull=True)
        if self.value() == "ended":
            return queryset.filter(ended_at__isnull=False)
        return queryset


@admin.register(SignInSession)
class SignInSessionAdmin(ViewOnlyAdmin):
    """Every sign-in (accounts/session_records.py); "End" signs the browser out and tells its apps."""

    list_display = ("user", "started_at", "last_seen_at", "ip_address", "browser", "methods", "apps", "state")
    list_filter = (LiveFilter, "started_at")
    search_fields = ("user__email", "ip_address")
    list_select_related = ("user",)
    # The sid names the user's tokens and the session key signs a browser in: neither is shown.
    fields = (
        "user",
        "user_agent",
        "ip_address",
        "methods",
        "clients",
        "started_at",
        "last_seen_at",
        "ended_at",
        "end_reason",
    )
    readonly_fields = fields
    actions = ("end_sign_ins",)

    def get_actions(self, request):
        # Django offers actions only to users who may change or delete; ending needs the user's change.
        actions = super().get_actions(request)
        if request.user.has_perm("accounts.change_user"):
            actions["end_sign_ins"] = self.get_action("end_sign_ins")
        else:
            actions.pop("end_sign_ins", None)
        return actions

    @admin.display(description="browser")
    def browser(self, obj):
        return obj.user_agent[:60]

    @admin.display(description="apps")
    def apps(self, obj):
        return ", ".join(obj.clients) or "-"

    @admin.display(description="state")
    def state(self, obj):
        return "signed in" if obj.ended_at is None else f"ended ({obj.end_reason})"

    @admin.action(description="End the selected sign-in sessions")
    def end_sign_ins(self, request, queryset):
        if not request.user.has_perm("accounts.change_user"):
            raise PermissionDenied
        ended = 0
        for record in queryset.filter(ended_at__isnull=True).select_related("user"):
            ended += session_records.sign_in_end(
                user=record.user, sid=record.sid, reason="admin", actor=request.user
            )
        self.message_user(request, f"{ended} sign-in session(s) ended.", messages.SUCCESS)


# --- Lockouts ------------------------------------------------------------------------------------
# django-axes' attempt records are the counts accounts/lockout.py decides locks from; its access log
# only says where an account signed in before, and its failure log is off (AXES_ENABLE_ACCESS_FAILURE_LOG).
# An operator needs neither log nor the raw records: one page lists what is locked now, each with an
# Unlock button. The page is the attempt records' changelist, so its permissions are axes' own.
for _model in (AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

PAIR, ADDRESS, ACCOUNT = lockout.PAIR, lockout.ADDRESS, lockout.ACCOUNT


def current_locks(now=None):
    """What refuses or slows sign-ins now: {PAIR: [...], ADDRESS: [...], ACCOUNT: [...]}, each a dict
    with username and/or ip_address, failures, last_failure and until (None: until unlocked)."""
    now = now or lockout.clock()
    window = settings.AXES_COOLOFF_TIME
    rows = AccessAttempt.objects.all()
    if window is not None:
        rows = rows.filter(attempt_time__gt=now - window)
    limits = {
        PAIR: (("username", "ip_address"), settings.AXES_FAILURE_LIMIT),
        ADDRESS: (("ip_address",), settings.SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT),
        ACCOUNT: (("username",), settings.SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT),
    }
    locks = {}
    for kind, (fields, limit) in limits.items():
        groups = (
            rows.exclude(**{f"{f}__isnull": True for f in fields})
            .values(*fields)
            .annotate(failures=Sum("failures_since_start"), last_failure=Max("attempt_time"))
            .order_by("-last_failure")
        )
        found = list(groups.filter(failures__gte=limit)) if limit else []
        for lock in found:
            lock["until"] = None if window is None else lock["last_failure"] + window
        locks[kind] = found
    return locks


@admin.register(AccessAttempt)
class LockoutAdmin(admin.ModelAdmin):
    """Locked sign-ins: accounts locked from an address, locked addresses, throttled accounts."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        unlock = path(
            "unlock/", self.admin_site.admin_view(self.unlock_view), name="axes_accessattempt_unlock"
        )
        return [unlock, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Locked sign-ins",
            "opts": self.model._meta,
            "locks": current_locks(),
            "can_unlock": self.has_delete_permission(request),
            "limits": {
                "pair": settings.AXES_FAILURE_LIMIT,
                "address": settings.SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT,
                "account": settings.SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT,
            },
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/axes/accessattempt/lockouts.html", context)

    def unlock_view(self, request):
        """POST: forget the failures behind one lock (kind, username and/or ip_address), audited."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_delete_permission(request):
            raise PermissionDenied
        kind = request.POST.get("kind")
        username = request.POST.get("username") or None
        address = request.POST.get("ip_address") or None
        needs = {PAIR: (username, address), ADDRESS: (address,), ACCOUNT: (username,)}
        if kind not in needs or not all(needs[kind]):
            self.message_user(request, "Nothing to unlock: the lock was not named.", messages.ERROR)
        else:
            # An address lock is about the address, an account's throttle about the account: each
            # unlock forgets only the failures that made its own lock.
            forgotten = AxesProxyHandler.reset_attempts(
                username=username if kind != ADDRESS else None,
                ip_address=address if kind != ACCOUNT else None,
            )
            audit("lockout.cleared", actor=request.user, kind=kind, username=username, address=address)
            who = " from ".join(x for x in (username, address) if x)
            self.message_user(request, f"Unlocked {who} ({forgotten} record(s) forgotten).", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:axes_accessattempt_changelist"))
