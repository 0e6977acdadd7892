"""The admin's base for records an operator reads but never edits here."""

from django.contrib import admin


class ViewOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete: the records are written by the code that owns them (sign-ins, key
    rotation, the audit trail), and history edited by hand could no longer be trusted. What an operator
    may do to them is an action of the subclass's own, with its own permission check."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
