import uuid

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction

pytestmark = pytest.mark.django_db


def test_primary_key_is_a_uuid_and_email_is_the_username():
    user = get_user_model().objects.create_user("Bob@Example.COM", "pw-Very-Long-123")
    assert isinstance(user.pk, uuid.UUID)
    assert get_user_model().USERNAME_FIELD == "email"
    assert user.email == "Bob@example.com"  # the domain part is normalised, the local part kept
    assert user.is_active and not user.is_staff and not user.is_superuser


def test_email_is_unique_without_regard_to_case():
    User = get_user_model()
    User.objects.create_user("carol@example.com", "x")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="CAROL@example.com")


def test_login_matches_email_without_regard_to_case():
    get_user_model().objects.create_user("dave@example.com", "s3cret-pass-word")
    assert authenticate(username="DAVE@example.com", password="s3cret-pass-word") is not None
    assert authenticate(username="dave@example.com", password="wrong") is None
    assert authenticate(username="dave\x00@example.com", password="s3cret-pass-word") is None


def test_passwords_are_hashed_with_argon2():
    user = get_user_model().objects.create_user("erin@example.com", "another-long-password")
    assert user.password.startswith("argon2$")


def test_create_superuser_sets_flags_and_requires_email():
    User = get_user_model()
    admin = User.objects.create_superuser("root@example.com", "pw-long-enough-1")
    assert admin.is_staff and admin.is_superuser
    with pytest.raises(ValueError):
        User.objects.create_user("", "x")


def test_user_without_password_cannot_log_in():
    user = get_user_model().objects.create_user("frank@example.com")
    assert not user.has_usable_password()
    assert authenticate(username="frank@example.com", password="") is None
