"""Small client policies DOT asks about through its settings."""

from oauth2_provider.models import get_application_model


def pkce_required(client_id):
    """PKCE is mandatory for public clients (RFC 9700 2.1.1); confidential clients may use it."""
    client = (
        get_application_model()
        .objects.filter(client_id=client_id)
        .only("client_type", "registration_source")
        .first()
    )
    return pkce_required_for(client)


def pkce_required_for(client):
    """RFC 9700 2.1.1 for public clients; and for every client of a metadata document, whose keys
    anyone may have published: open registration's rule, PKCE always."""
    return (
        client is None
        or client.client_type == client.CLIENT_PUBLIC
        or client.registration_source == client.RegistrationSource.CIMD
    )
