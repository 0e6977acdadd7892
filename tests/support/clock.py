"""A clock a test moves by hand, for modules that read the time through a `clock` callable."""

from datetime import timedelta

from django.utils import timezone


class FrozenClock:
    """Returns the same instant until advance() moves it: time-window rules are tested without sleeping."""

    def __init__(self):
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)
