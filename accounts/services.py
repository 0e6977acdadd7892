from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_ratelimit.core import get_usage

from provider import context

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


@transaction.atomic
def user_set_password(*, user, password, reason="admin"):
    """Give `user` a new password, checked against the validators; it ends what the old one obtained."""
    validate_password(password, user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    # Like the user's own change: the receivers end every grant the old password obtained. Django
    # ends the sessions: the password hash each one stored no longer matches.
    password_changed_notify(user=user, reason=reason)


@transaction.atomic
def user_set_active(*, user, active):
    """Enable or disable `user`; False when it already was. Disabling ends their sessions and grants."""
    if user.is_active == active:
        return False
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        user_disabled_notify(user=user)
    return True


def user_disabled_notify(*, user):
    """End what a just-disabled `user` still holds: their browser sessions and, through the
    receivers of signals.user_disabled, their grants. Call it inside the transaction that disabled them."""
    user_sessions_end(user=user)
    # A disabled user's tokens are refused already (their state is read with each token); ending
    # the grants as well keeps them from coming back if the account is enabled again.
    signals.user_disabled.send(sender=user.__class__, user=user)


def user_sessions_end(*, user):
    """Delete every stored browser session signed in as `user`; returns how many there were.

    Sessions are rows that name their user only inside their encoded data, so each live one is read.
    """
    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = session.get_decoded()
        if data.get(SESSION_KEY) == str(user.pk):
            ended.append(session.pk)
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def password_changed_notify(*, user, reason):
    """Tell the apps built on accounts that `user` has a new password ("change" or "reset").

    Call it inside the transaction that stored the password: what the receivers end (provider/oidc:
    every token the old password obtained) then ends with it, or the password change rolls back.
    """
    signals.password_changed.send(sender=user.__class__, user=user, reason=reason)


def password_reset_throttle(*, request, email):
    """Count a password-reset request per client address, then per target email; say which limit it is over.

    None when a link may be sent, else ("address" or "email", seconds until that count starts over).
    The email is counted whether or not an account has it, so the limit tells nothing of which do.
    An address already over its limit is not counted against the email it names.
    """
    limits = (
        # An IPv6 client by its prefix, as for sign-in lockouts and /token (context.limit_key).
        ("address", settings.SIGNET_RATELIMIT_PASSWORD_RESET, context.limit_key(request) or "unknown"),
        # Django matches the email case-insensitively (PasswordResetForm.get_users): so does the count.
        ("email", settings.SIGNET_RATELIMIT_PASSWORD_RESET_EMAIL, email.strip().casefold()),
    )
    for name, rate, value in limits:
        if not rate:
            continue
        usage = get_usage(
            request,
            group=f"signet.password_reset.{name}",
            key=lambda group, request, value=value: value,
            rate=rate,
            increment=True,
        )
        if usage is not None and usage["should_limit"]:
            return name, max(1, int(usage["time_left"]))
    return None
