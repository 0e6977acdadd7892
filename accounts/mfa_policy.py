"""Who must sign in with a second factor, and which acr levels a user's factors can reach.

SIGNET_MFA=required asks it of everyone; Client.require_mfa of everyone signing in to that client.
"""

from django.conf import settings

from . import authn
from .models import Passkey
from .totp import has_totp

OPTIONAL, REQUIRED = "optional", "required"
POLICIES = (OPTIONAL, REQUIRED)


def mfa_required(client=None):
    """Whether a sign-in (to `client`, if any) must reach acr "2" at least."""
    return settings.SIGNET_MFA == REQUIRED or bool(getattr(client, "require_mfa", False))


def has_passkey(user):
    return Passkey.objects.filter(user=user).exists()


def has_second_factor(user):
    """A confirmed TOTP authenticator or a passkey: what makes the password alone not enough."""
    return has_totp(user) or has_passkey(user)


def can_reach(user, acr):
    """Whether the user's factors can bring a session to `acr` (a passkey for "phr", any factor for "2")."""
    if acr == authn.ACR_ONE_FACTOR:
        return True
    if acr == authn.ACR_MFA:
        return has_second_factor(user)
    if acr == authn.ACR_PHISHING_RESISTANT:
        return has_passkey(user)
    return False
