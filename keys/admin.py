from django.contrib import admin, messages

from . import services
from .models import SigningKey
from .selectors import reset_cache


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    # The encrypted private key is never listed, shown or editable here.
    list_display = ("kid", "state", "alg", "size", "created_at", "activated_at", "retired_at", "revoked_at")
    list_filter = ("state", "alg", "size")
    search_fields = ("kid",)
    fields = (
        "kid",
        "state",
        "alg",
        "size",
        "public_jwk",
        "created_at",
        "activated_at",
        "retired_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["rotate_now", "revoke_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Rotate now (promote the next key, retire the active one)")
    def rotate_now(self, request, queryset):
        result = services.key_rotate()
        reset_cache()
        self.message_user(request, f"Rotated: {result.active.kid} now signs.", messages.SUCCESS)

    @admin.action(description="Revoke selected keys (withdraw from the JWKS at once)")
    def revoke_selected(self, request, queryset):
        kids = list(queryset.values_list("kid", flat=True))
        for kid in kids:
            services.key_revoke(kid=kid)
        reset_cache()
        self.message_user(request, f"Revoked {len(kids)} key(s).", messages.WARNING)
