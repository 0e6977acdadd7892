import pytest


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator@example.com", "operator password 123")


@pytest.fixture
def admin_http(client, operator):
    client.force_login(operator)
    return client
