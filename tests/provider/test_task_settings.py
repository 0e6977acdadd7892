"""The task queue's settings: the backend by name, and back-channel limits that cannot be switched off."""

import pytest

from tests.provider.test_settings import REQUIRED, _load_settings

SHOW = "print(settings.TASKS['default']['BACKEND'])"


def test_the_database_backend_is_the_default_and_immediate_is_a_choice():
    assert _load_settings(
        {**REQUIRED, "DEBUG": "false", "SIGNET_TASKS_BACKEND": ""}, code=SHOW
    ).stdout.strip() == ("django_tasks_db.DatabaseBackend")
    chosen = _load_settings({**REQUIRED, "DEBUG": "false", "SIGNET_TASKS_BACKEND": "immediate"}, code=SHOW)
    assert chosen.stdout.strip() == "django_tasks.backends.immediate.ImmediateBackend"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SIGNET_TASKS_BACKEND", "celery", "SIGNET_TASKS_BACKEND must be one of database, immediate"),
        ("SIGNET_BACKCHANNEL_ATTEMPTS", "0", "SIGNET_BACKCHANNEL_ATTEMPTS must be at least 1"),
        ("SIGNET_BACKCHANNEL_TIMEOUT_SECONDS", "0", "SIGNET_BACKCHANNEL_TIMEOUT_SECONDS"),
        ("SIGNET_BACKCHANNEL_RETRY_SECONDS", "-1", "SIGNET_BACKCHANNEL_RETRY_SECONDS at least 0"),
    ],
)
def test_a_bad_value_stops_start_up_and_names_the_setting(name, value, says):
    result = _load_settings({**REQUIRED, "DEBUG": "false", name: value}, code=SHOW)
    assert result.returncode != 0
    assert says in result.stderr
