"""Signing keys in the admin: a read-only list, a "Rotate now" button and a "Revoke" action.

Neither page ever shows private material: the encrypted private key is not a field here, and
rotating or revoking needs the keys.rotate_signingkey permission, not just the right to view.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from provider.admin_view_only import ViewOnlyAdmin

from . import services
from .models import SigningKey
from .selectors import invalidate

ROTATE_PERMISSION = "keys.rotate_signingkey"


@admin.register(SigningKey)
class SigningKeyAdmin(ViewOnlyAdmin):
    list_display = (
        "kid",
        "state",
        "alg",
        "size",
        "created_at",
        "activated_at",
        "retired_at",
        "retain_until",
        "revoked_at",
    )
    list_filter = ("state", "alg", "size")
    search_fields = ("kid",)
    # An explicit allow-list: encrypted_private_jwk must never be rendered, even encrypted.
    fields = (
        "kid",
        "state",
        "alg",
        "size",
        "public_jwk",
        "created_at",
        "activated_at",
        "retired_at",
        "retain_until",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke_selected"]
    change_list_template = "admin/keys/signingkey/change_list.html"

    def has_rotate_permission(self, request):
        return request.user.has_perm(ROTATE_PERMISSION)

    def get_urls(self):
        rotate = path("rotate/", self.admin_site.admin_view(self.rotate_view), name="keys_signingkey_rotate")
        return [rotate, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_rotate": self.has_rotate_permission(request),
            "signing_algs": services.configured_algs(),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def rotate_view(self, request):
        """GET asks for confirmation; POST promotes the next key and retires the active one.

        One algorithm's keys at a time (?alg=, RS256 by default): each has its own active and next key.
        """
        if not self.has_rotate_permission(request):
            raise PermissionDenied
        alg = request.GET.get("alg", "RS256")
        if alg not in services.configured_algs():
            raise Http404("No signing keys of that algorithm.")
        if request.method == "POST":
            result = services.key_rotate(actor=request.user, alg=alg)
            invalidate()
            self.message_user(request, f"Rotated: {result.active.kid} now signs.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:keys_signingkey_changelist"))
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rotate the {alg} signing key?",
            "opts": self.model._meta,
            "active": SigningKey.objects.filter(state=SigningKey.State.ACTIVE, alg=alg).first(),
            "next": SigningKey.objects.filter(state=SigningKey.State.NEXT, alg=alg)
            .order_by("created_at")
            .first(),
        }
        return TemplateResponse(request, "admin/keys/signingkey/rotate_confirmation.html", context)

    @admin.action(description="Revoke selected keys (withdraw from the JWKS at once)", permissions=["rotate"])
    def revoke_selected(self, request, queryset):
        keys = list(queryset.exclude(state=SigningKey.State.REVOKED))
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Revoke signing keys?",
                "opts": self.model._meta,
                "keys": keys,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/keys/signingkey/revoke_confirmation.html", context)
        for key in keys:
            services.key_revoke(kid=key.kid, actor=request.user)
        invalidate()
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.WARNING)
        return None
