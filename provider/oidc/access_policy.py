"""Who may use a client: the rule checked at /authorize, at the code exchange and at every refresh.

A client with allowed groups serves only their members; one without serves every user. The rule is
checked again at each token request because membership can change between the sign-in and the
exchange, and long after it (a refresh token lives for weeks).
"""

from django.conf import settings
from django.contrib.auth import get_user_model

from . import client_cache

# The error_description the relying party receives with access_denied (English, as every one is).
NOT_ALLOWED = "The user's account is not allowed to use this client."


def user_may_use(client, user):
    """True when `user` may sign in to and get tokens for `client`.

    One indexed EXISTS on the user-group table, and only for a client restricted to groups.
    """
    allowed = client_cache.allowed_group_ids(client)
    if not allowed:
        return True
    memberships = get_user_model().groups.through.objects
    return memberships.filter(user_id=user.pk, group_id__in=allowed).exists()


def refusal_context(client):
    """What the access-refused page (oidc/access_denied.html) shows besides the client: who to ask."""
    contact = settings.SIGNET_OPERATOR_CONTACT
    return {"application": client, "contact": contact, "contact_href": contact_href(contact)}


def contact_href(contact):
    """A link to the operator's contact: an http(s) URL as it is, an email address as mailto:."""
    if contact.startswith(("https://", "http://")):
        return contact
    return f"mailto:{contact}" if "@" in contact and ":" not in contact else None
