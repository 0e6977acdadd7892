"""Clients, grants, authorization codes and remembered consents in the admin.

DOT registers its own admin classes when it loads; Signet replaces them here so every change an
operator makes is audited, a client secret is shown exactly once, and nothing shows a usable token.
Access and ID tokens are not stored; refresh tokens are shown through the grant they belong to.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db.models import Count
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import ngettext
from oauth2_provider import admin as dot_admin
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from provider.audit import audit

from .client_keys import jwks_problem
from .models import Client, Consent, TokenFamily
from .refresh import family_revoke
from .scopes import default_scopes, scope_problems
from .services import GRANTS, client_regenerate_secret, generate_secret


def _replace(model, admin_class):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, admin_class)


def _space_separated(value):
    return " ".join(value.split())


class ClientForm(forms.ModelForm):
    """Every editable client setting; the secret is never a field (it is generated and shown once)."""

    class Meta:
        model = Client
        # An allow-list: a field added to Client later (a secret, say) appears only when listed here.
        fields = (
            "name",
            "client_id",  # at creation only: read-only once the client exists (ClientAdmin)
            "client_type",
            "authorization_grant_type",
            "redirect_uris",
            "post_logout_redirect_uris",
            "backchannel_logout_uri",  # receives logout tokens (backchannel.py)
            "backchannel_logout_session_required",
            "allowed_scopes",
            "audiences",
            "skip_authorization",
            "require_mfa",  # its users sign in with a second factor (accounts/mfa_policy.py)
            "is_active",
            "access_token_lifetime",
            "id_token_lifetime",
            "refresh_token_lifetime",
            "identity_claims_in_access_token",
            # private_key_jwt (OIDC Core 9): how it authenticates, and its public keys
            "token_endpoint_auth_method",
            "token_endpoint_auth_signing_alg",
            "jwks",
            "jwks_uri",
            "groups_in_access_token",
            "id_token_signed_response_alg",  # its tokens' alg: one of SIGNET_SIGNING_ALGS (models.py)
            "allowed_groups",  # only their members may use it (access_policy.py); none: everyone
        )
        widgets = {
            "redirect_uris": forms.Textarea(attrs={"rows": 3}),
            "post_logout_redirect_uris": forms.Textarea(attrs={"rows": 2}),
            "allowed_scopes": forms.TextInput(attrs={"size": 60}),
            "audiences": forms.Textarea(attrs={"rows": 2}),
            "jwks": forms.Textarea(attrs={"rows": 6, "cols": 80}),
            "jwks_uri": forms.URLInput(attrs={"size": 60}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the grants Signet serves (DOT's model also lists implicit and hybrid).
        grant = self.fields["authorization_grant_type"]
        grant.choices = [(value, label) for value, label in grant.choices if value in GRANTS.values()]
        if self.instance.pk is None:
            self.initial.setdefault("client_type", Client.CLIENT_CONFIDENTIAL)
            self.initial.setdefault("authorization_grant_type", Client.GRANT_AUTHORIZATION_CODE)
        if "id_token_signed_response_alg" in self.fields:
            # Only the algorithms the key ring keeps a key for are offered (Client.clean refuses the
            # others); left out of a form post, the client keeps the one it has.
            alg = self.fields["id_token_signed_response_alg"]
            alg.required = False
            alg.choices = [(a, a) for a in settings.SIGNET_SIGNING_ALGS]
        if "client_id" in self.fields:
            client_id = self.fields["client_id"]
            client_id.required = False
            client_id.show_hidden_initial = False
            self.initial.pop("client_id", None)  # the model's generated default, used when left empty
            client_id.help_text = (
                "Leave empty to generate one. A resource server that introspects tokens uses its "
                "audience URI. Never a UUID: those are users' identifiers."
            )

    def clean_client_id(self):
        # Empty keeps the id the model generated; Client.clean refuses one shaped like a user's.
        return self.cleaned_data.get("client_id", "").strip() or self.instance.client_id

    def clean_id_token_signed_response_alg(self):
        return (
            self.cleaned_data.get("id_token_signed_response_alg")
            or self.instance.id_token_signed_response_alg
        )

    def clean_allowed_scopes(self):
        scopes = self.cleaned_data["allowed_scopes"].split()
        unknown = sorted(set(scopes) - set(settings.SIGNET_SCOPES))
        if unknown:
            raise ValidationError(
                f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(settings.SIGNET_SCOPES)}."
            )
        return " ".join(scopes)

    def clean(self):
        cleaned = super().clean()
        grant, scopes = cleaned.get("authorization_grant_type"), cleaned.get("allowed_scopes")
        if grant is None or scopes is None:
            return cleaned
        if self.instance.pk is None and "allowed_scopes" not in self.changed_data:
            # Left at the sign-in default: a client-credentials client gets its own default (none).
            cleaned["allowed_scopes"] = scopes = " ".join(default_scopes(grant))
        # Unknown scopes never get here: clean_allowed_scopes refused them.
        for problem in scope_problems(scopes.split(), grant=grant):
            self.add_error("allowed_scopes", problem[0].upper() + problem[1:] + ".")
        return cleaned

    def clean_audiences(self):
        audiences = self.cleaned_data["audiences"].split()
        validate = URLValidator(schemes=["https", "http"])
        for audience in audiences:
            try:
                validate(audience)
            except ValidationError as e:
                raise ValidationError(f"{audience} is not an absolute URL.") from e
        return " ".join(audiences)

    def full_clean(self):
        super().full_clean()
        # The model's checks see a field the form refused as empty ("needs keys"): the form's error,
        # which names the real problem, is the one shown.
        for field in ("jwks", "jwks_uri"):
            if self.is_bound and field in self.errors:
                del self.errors[field][1:]

    def clean_jwks(self):
        jwks = self.cleaned_data["jwks"]
        if jwks is not None and (problem := jwks_problem(jwks)) and "private members" in problem:
            # A private key must not be shown again: the field comes back empty.
            self.data = self.data.copy()
            self.data["jwks"] = ""
            raise ValidationError(problem)
        return jwks

    def clean_redirect_uris(self):
        return _space_separated(self.cleaned_data["redirect_uris"])

    def clean_post_logout_redirect_uris(self):
        return _space_separated(self.cleaned_data["post_logout_redirect_uris"])


class GrantTypeFilter(admin.SimpleListFilter):
    """The grants a Signet client can have, not every grant DOT's model knows (implicit, hybrid)."""

    title = "grant type"
    parameter_name = "authorization_grant_type"

    def lookups(self, request, model_admin):
        labels = dict(Client.GRANT_TYPES)
        return [(grant, labels[grant]) for grant in GRANTS.values()]

    def queryset(self, request, queryset):
        if self.value() in GRANTS.values():
            return queryset.filter(authorization_grant_type=self.value())
        return queryset


class ClientAdmin(admin.ModelAdmin):
    form = ClientForm
    list_display = (
        "name",
        "client_id",
        "registration_badge",
        "client_type",
        "authorization_grant_type",
        "is_active",
        "updated",
    )
    list_filter = (
        "is_active",
        "client_type",
        GrantTypeFilter,
        "registration_source",
        "skip_authorization",
        "require_mfa",
    )
    search_fields = ("name", "client_id", "redirect_uris", "audiences")
    ordering = ("name",)
    actions = ("disable_clients", "enable_clients")
    radio_fields = {"client_type": admin.HORIZONTAL, "authorization_grant_type": admin.VERTICAL}
    filter_horizontal = ("allowed_groups",)
    # DOT's Application.get_absolute_url names its own client-management pages, which Signet does
    # not serve: the admin's "View on site" link would answer 500. A client has no page on the site.
    view_on_site = False

    def get_readonly_fields(self, request, obj=None):
        # The client id is what relying parties are configured with: fixed once the client exists.
        return ("client_id", "registration_badge", "created", "updated") if obj is not None else ()

    @admin.display(description="registered by", ordering="registration_source")
    def registration_badge(self, obj):
        # RFC 7591: a client its developer registered at /register, managed with its own token (RFC 7592).
        if obj.registered_dynamically:
            return format_html('<span class="signet-badge" title="{}">{}</span>', obj.name, "self-registered")
        # Its client_id is its metadata document's URL; "Disable" keeps it refused whatever the URL serves.
        if obj.from_metadata_document:
            return format_html(
                '<span class="signet-badge" title="{}">{}</span>', obj.client_id, "metadata document"
            )
        return "operator"

    def save_model(self, request, obj, form, change):
        if obj.authenticates_with_key:
            # OIDC Core 9: it authenticates with its key; no secret is made, and an old one goes.
            obj.client_secret, obj.hash_client_secret = "", False
        elif not change and obj.client_type == Client.CLIENT_CONFIDENTIAL:
            request.signet_new_secret = generate_secret()
            obj.client_secret = request.signet_new_secret
            obj.hash_client_secret = True
        elif not change:
            obj.client_secret, obj.hash_client_secret = "", False
        super().save_model(request, obj, form, change)
        if change:
            audit("client.updated", actor=request.user, client_id=obj.client_id, fields=form.changed_data)
        else:
            audit("client.created", actor=request.user, client_id=obj.client_id, name=obj.name)

    def delete_model(self, request, obj):
        audit("client.deleted", actor=request.user, client_id=obj.client_id, name=obj.name)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for client in queryset:
            audit("client.deleted", actor=request.user, client_id=client.client_id, name=client.name)
        super().delete_queryset(request, queryset)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "signet_new_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, secret, created=True)

    @admin.action(description="Disable selected clients (no more sign-ins or tokens)")
    def disable_clients(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Enable selected clients")
    def enable_clients(self, request, queryset):
        self._set_active(request, queryset, True)

    def _set_active(self, request, queryset, active):
        changed = 0
        for client in queryset.filter(is_active=not active):
            client.is_active = active
            client.save(update_fields=["is_active", "updated"])
            audit(
                "client.enabled" if active else "client.disabled",
                actor=request.user,
                client_id=client.client_id,
            )
            changed += 1
        verb = "Enabled" if active else "Disabled"
        self.message_user(request, ngettext(f"{verb} %d client.", f"{verb} %d clients.", changed) % changed)

    # --- "Regenerate secret": a POST-only view behind the change permission ----------------------
    def get_urls(self):
        view = self.admin_site.admin_view(self.regenerate_secret_view)
        return [
            path("<path:object_id>/regenerate-secret/", view, name="oidc_client_regenerate_secret"),
            *super().get_urls(),
        ]

    def regenerate_secret_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        client = get_object_or_404(Client, pk=object_id)
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        if client.client_type != Client.CLIENT_CONFIDENTIAL or client.authenticates_with_key:
            text = (
                "Public clients have no secret."
                if not client.authenticates_with_key
                else ("A private_key_jwt client authenticates with its key and has no secret.")
            )
            self.message_user(request, text, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:oidc_client_change", args=[client.pk]))
        secret = client_regenerate_secret(client=client)
        audit("client.secret_regenerated", actor=request.user, client_id=client.client_id)
        return self._secret_page(request, client, secret, created=False)

    def _secret_page(self, request, client, secret, *, created):
        """The only place a secret is ever shown: rendered once, never stored in clear or cached."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "client": client,
            "secret": secret,
            "created": created,
            "title": "Client secret",
        }
        response = TemplateResponse(request, "admin/oidc/client/secret.html", context)
        response["Cache-Control"] = "no-store"
        return response


class GrantStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("active", "active"), ("revoked", "revoked"), ("ended", "past its deadline"))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "ended":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


class GrantAdmin(admin.ModelAdmin):
    """Grants (one per sign-in and client): revoking one ends its refresh tokens and, at once, every
    access token that names it. Access and ID tokens themselves are not stored, so not listed."""

    list_display = ("family", "user", "client", "scope", "offline", "created_at", "expires_at", "revoked_at")
    list_filter = (GrantStateFilter, "offline", "client")
    search_fields = ("user__email", "client__client_id", "client__name", "sid")
    list_select_related = ("user", "client")
    date_hierarchy = "created_at"
    fields = (
        "family",
        "user",
        "client",
        "scope",
        "resource",
        "offline",
        "auth_time",
        "sid",
        "acr",
        "created_at",
        "expires_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ("revoke_grants",)

    def has_add_permission(self, request):
        return False  # a grant comes from a sign-in only

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("oidc.delete_tokenfamily"):
            actions.pop("revoke_grants", None)
        return actions

    @admin.action(description="Revoke selected grants (their refresh and access tokens)")
    def revoke_grants(self, request, queryset):
        if not request.user.has_perm("oidc.delete_tokenfamily"):
            raise PermissionDenied
        rows = list(queryset.filter(revoked_at__isnull=True).select_related("client"))
        for grant in rows:
            family_revoke(
                family=grant.family,
                event="token.revoked",
                client_id=grant.client.client_id,
                actor=request.user,
            )
        self.message_user(request, ngettext("Revoked %d grant.", "Revoked %d grants.", len(rows)) % len(rows))


class AuthorizationCodeAdmin(dot_admin.GrantAdmin):
    list_display = ("pk", "masked_code", "application", "user", "scope", "created", "expires")
    list_filter = ("application", "expires")
    actions = ("revoke_codes",)

    @admin.action(description="Revoke selected authorization codes")
    def revoke_codes(self, request, queryset):
        rows = list(queryset.select_related("application"))
        for code in rows:
            code.delete()  # an authorization code is revoked by forgetting it (DOT's Grant has no state)
            audit("authorization_code.revoked", actor=request.user, client_id=code.application.client_id)
        self.message_user(
            request,
            ngettext("Revoked %d authorization code.", "Revoked %d authorization codes.", len(rows))
            % len(rows),
        )


class ConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "client", "scopes", "created_at", "updated_at")
    list_filter = ("client",)
    search_fields = ("user__email", "client__client_id", "client__name", "scopes")
    list_select_related = ("user", "client")
    readonly_fields = ("user", "client", "scopes", "created_at", "updated_at")
    actions = ("revoke_consents",)

    def has_add_permission(self, request):
        return False  # only the user grants consent, on the consent page

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: it also revokes the client's tokens for that user

    def get_actions(self, request):
        # Django offers actions only to users who may change or delete; revoking needs this permission.
        actions = super().get_actions(request)
        if not request.user.has_perm("oidc.delete_consent"):
            actions.pop("revoke_consents", None)
        return actions

    @admin.action(description="Revoke selected consents (and that client's tokens for the user)")
    def revoke_consents(self, request, queryset):
        if not request.user.has_perm("oidc.delete_consent"):
            raise PermissionDenied
        from .consent import consent_revoke  # the same service as the user's own consents page

        rows = list(queryset.select_related("user", "client"))
        for consent in rows:
            consent_revoke(user=consent.user, client=consent.client)
        self.message_user(
            request, ngettext("Revoked %d consent.", "Revoked %d consents.", len(rows)) % len(rows)
        )


class GroupForm(forms.ModelForm):
    """A group with its members, chosen on the group's own page as well as on each user's."""

    members = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.order_by("email"),
        required=False,
        widget=FilteredSelectMultiple("members", is_stacked=False),
        help_text="Their ID tokens and userinfo name this group in the groups claim.",
    )

    class Meta:
        model = Group
        fields = ("name", "members", "permissions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["members"] = list(self.instance.user_set.values_list("pk", flat=True))


class GroupAdmin(auth_admin.GroupAdmin):
    """Django's group admin, with members, the clients restricted to it, and every change audited."""

    form = GroupForm
    list_display = ("name", "member_count", "restricted_clients")
    readonly_fields = ("restricted_clients",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(signet_members=Count("user", distinct=True))

    @admin.display(description="members", ordering="signet_members")
    def member_count(self, obj):
        return obj.signet_members

    @admin.display(description="clients only its members may use")
    def restricted_clients(self, obj):
        return ", ".join(obj.clients.order_by("name").values_list("name", flat=True)) or "-"

    def has_delete_permission(self, request, obj=None):
        # Deleting the only allowed group of a client would open that client to every user.
        if obj is not None and obj.clients.exists():
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        group = form.instance
        before = set(form.initial.get("members", []))
        after = {user.pk for user in form.cleaned_data["members"]}
        group.user_set.set(after)
        for event, pks in (("group.member_added", after - before), ("group.member_removed", before - after)):
            for user in get_user_model().objects.filter(pk__in=pks):
                audit(event, actor=request.user, group=group.name, user=str(user.pk), email=user.email)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            audit("group.created", actor=request.user, group=obj.name)
        elif fields := [name for name in form.changed_data if name != "members"]:  # members: save_related
            audit("group.updated", actor=request.user, group=obj.name, fields=fields)

    def delete_model(self, request, obj):
        audit("group.deleted", actor=request.user, group=obj.name)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for group in queryset:
            audit("group.deleted", actor=request.user, group=group.name)
        super().delete_queryset(request, queryset)


_replace(Client, ClientAdmin)
_replace(Group, GroupAdmin)
_replace(get_grant_model(), AuthorizationCodeAdmin)
admin.site.register(TokenFamily, GrantAdmin)
admin.site.register(Consent, ConsentAdmin)
# Access and ID tokens are not stored, and refresh tokens are a grant's internals (checksums):
# the grants above are what an operator sees and revokes.
for _model in (get_access_token_model(), get_id_token_model(), get_refresh_token_model()):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
