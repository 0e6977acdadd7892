import uuid

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.html import format_html

from ..admin_view_only import ViewOnlyAdmin
from .models import AuditEvent


def _as_uuid(text):
    try:
        return uuid.UUID(text)
    except (TypeError, ValueError, AttributeError):
        return None


def actor_users(actors):
    """{actor text: user} for the actors that are a user's id (events store a signed-in user by id)."""
    ids = {text: pk for text in set(actors) if (pk := _as_uuid(text)) is not None}
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=ids.values())}
    return {text: users.get(pk) for text, pk in ids.items()}


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    """The audit trail: searchable and filterable, and nobody edits or deletes history from here.

    An actor stored as a user's id shows as that user's email with the id linking to their page; one
    stored as text (an email typed at a failed sign-in, cli:NAME for an operator command) as it is.
    """

    list_display = ("created_at", "event", "actor_display", "client_id", "ip_address", "request_id")
    list_filter = ("event", "created_at")
    search_fields = ("event", "actor", "client_id", "ip_address", "request_id", "data")
    date_hierarchy = "created_at"
    fields = ("created_at", "event", "actor_display", "client_id", "ip_address", "request_id", "data")
    readonly_fields = fields
    list_per_page = 100

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # One query for the page's users, not one per row.
        users = actor_users(event.actor for event in changelist.result_list)
        for event in changelist.result_list:
            event.actor_user = users.get(event.actor)
        return changelist

    def get_search_results(self, request, queryset, search_term):
        # Signed-in users are stored by id: an email typed in the search box finds their events too.
        queryset, duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            ids = get_user_model().objects.filter(email__icontains=search_term.strip()).values_list("pk")
            queryset |= self.get_queryset(request).filter(actor__in=[str(pk) for (pk,) in ids[:100]])
        return queryset, duplicates

    @admin.display(description="actor", ordering="actor")
    def actor_display(self, event):
        if _as_uuid(event.actor) is None:
            return event.actor or "-"
        if hasattr(event, "actor_user"):
            user = event.actor_user  # the changelist looked up its page's users at once
        else:
            user = actor_users([event.actor]).get(event.actor)
        if user is None:
            return format_html("deleted user ({})", event.actor)
        opts = user._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[user.pk])
        return format_html('{} (<a href="{}">{}</a>)', user.email, url, event.actor)
