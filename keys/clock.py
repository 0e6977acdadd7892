"""The keys app's one clock, so schedules and retention are tested by moving time, not by sleeping."""

from django.utils import timezone


def now():
    """The current time (aware, UTC). Tests replace this function to move the key ring's clock."""
    return timezone.now()
