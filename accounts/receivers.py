from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .sessions import session_mark_authenticated


@receiver(user_logged_in, dispatch_uid="signet_mark_session_authenticated")
def mark_session_authenticated(sender, request, user, **kwargs):
    # auth_time is this session's, not user.last_login (which any other browser may change).
    if request is not None and hasattr(request, "session"):
        session_mark_authenticated(request=request)
