from django.conf import settings
from oauth2_provider.scopes import BaseScopes


class ClientScopes(BaseScopes):
    """The scopes a client may request are the ones the operator allowed it (RFC 6749 3.3)."""

    def get_all_scopes(self):
        return dict(settings.SIGNET_SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        known = settings.SIGNET_SCOPES
        if application is None:
            return list(known)
        return [s for s in application.scope_list if s in known]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return ["openid"]
