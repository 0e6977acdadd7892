from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import session_records
from .sessions import session_mark_authenticated, session_sid


@receiver(user_logged_in, dispatch_uid="signet_mark_session_authenticated")
def mark_session_authenticated(sender, request, user, **kwargs):
    # auth_time is this session's, not user.last_login (which any other browser may change).
    if request is not None and hasattr(request, "session"):
        previous_sid = session_sid(request)  # the same user signing in again keeps the session's data
        session_mark_authenticated(request=request)
        session_records.sign_in_record(request=request, user=user, previous_sid=previous_sid)


@receiver(user_logged_out, dispatch_uid="signet_sign_in_record_ended")
def sign_in_record_ended(sender, request, user, **kwargs):
    # Sent before Django flushes the session, so its sid is still there; Django deletes the session.
    sid = session_sid(request) if request is not None and hasattr(request, "session") else None
    if user is not None and sid:
        session_records.sign_in_end(user=user, sid=sid, reason="logout", delete_session=False)
