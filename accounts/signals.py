"""Signals accounts sends, so the apps built on it act on account events without accounts importing them.

provider/oidc receives them (as it receives Django's user_logged_out): accounts knows nothing of tokens.
"""

from django.dispatch import Signal

# Sent inside the transaction that stored a user's new password, with `user` and `reason` ("change":
# the user changed it, knowing the old one; "reset": through an emailed link). Receivers end what the
# old password let anyone obtain; an exception rolls the new password back with it.
password_changed = Signal()

# Sent to ask what a password change would end, with `user`: each receiver returns the names of the
# apps the user would have to sign in to again. Asked before the change, so the user can be told.
password_change_ends = Signal()

# Sent inside the transaction that disabled `user`: receivers end what the account had obtained, so
# enabling it again does not bring old grants back.
user_disabled = Signal()
