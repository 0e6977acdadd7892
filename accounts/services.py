from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from . import signals


@transaction.atomic
def user_create(*, email, password=None, first_name="", last_name="", superuser=False, email_verified=False):
    """Create a user; the password is checked against the validators first."""
    User = get_user_model()
    if User.objects.filter(email__iexact=email.strip()).exists():
        raise ValidationError({"email": f"a user with email {email} already exists"})
    if password is not None:
        validate_password(password, user=User(email=email, first_name=first_name, last_name=last_name))
    create = User.objects.create_superuser if superuser else User.objects.create_user
    return create(email, password, first_name=first_name, last_name=last_name, email_verified=email_verified)


def password_changed_notify(*, user, reason):
    """Tell the apps built on accounts that `user` has a new password ("change" or "reset").

    Call it inside the transaction that stored the password: what the receivers end (provider/oidc:
    every token the old password obtained) then ends with it, or the password change rolls back.
    """
    signals.password_changed.send(sender=user.__class__, user=user, reason=reason)
