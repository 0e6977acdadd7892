"""The password-reset mail, composed and sent by the task queue's worker, not inside the request.

The request enqueues only the user's id and the page's language (provider/tasks.py): the link's
token is made here, when the mail is sent, so no reset link is ever stored in the queue's table.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .forms import PasswordResetRequestForm

SUBJECT_TEMPLATE = "accounts/email/password_reset_subject.txt"
BODY_TEMPLATE = "accounts/email/password_reset.txt"


def password_reset_mail_send(*, user_id, language):
    """Send the reset link to an active user with a usable password; False (nothing sent) otherwise."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    # Links point at the issuer, never at whatever Host header a request carried.
    issuer = urlsplit(settings.OIDC_ISSUER)
    context = {
        "email": user.email,
        "domain": issuer.netloc,
        "site_name": settings.SIGNET_SITE_NAME,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": issuer.scheme,
        "base_url": f"{issuer.scheme}://{issuer.netloc}",
    }
    with translation.override(language or settings.LANGUAGE_CODE):
        PasswordResetRequestForm().send_mail(SUBJECT_TEMPLATE, BODY_TEMPLATE, context, None, user.email)
    return True
