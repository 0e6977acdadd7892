"""Small client policies."""


def pkce_required_for(client):
    """RFC 9700 2.1.1 for public clients; and for every client of a metadata document, whose keys
    anyone may have published: open registration's rule, PKCE always."""
    return (
        client is None
        or client.client_type == client.CLIENT_PUBLIC
        or client.registration_source == client.RegistrationSource.CIMD
    )
