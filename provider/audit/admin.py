from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail: searchable and filterable, and nobody edits or deletes history from here."""

    list_display = ("created_at", "event", "actor", "client_id", "ip_address", "request_id")
    list_filter = ("event", "created_at")
    search_fields = ("event", "actor", "client_id", "ip_address", "request_id", "data")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "event", "actor", "client_id", "ip_address", "request_id", "data")
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
