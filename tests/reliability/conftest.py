import itertools
import json

import pytest

from tests.support.postgres import ThrowawayPostgres, unavailable_reason

from .deployment import Deployment, Template
from .stack import redis_available

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL cluster the tests may stop and restart (never the machine's shared one)."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no private PostgreSQL cluster: {reason}")
    server = ThrowawayPostgres()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def template(pg_cluster):
    built = Template.build(pg_cluster)
    yield built
    built.destroy()


@pytest.fixture
def deploy(template):
    """Start a deployment from a fresh copy of the template: `deploy(instances=2, with_redis=True, …)`."""
    started = []

    def start(**kwargs):
        if kwargs.get("with_redis", True) and not redis_available():
            pytest.skip("redis-server is not installed")
        deployment = Deployment(template=template, dbname=f"signet_rel_{next(_names)}", **kwargs)
        started.append(deployment)
        if not template.pg.is_running():
            template.pg.start()
        return deployment.start()

    yield start
    for deployment in started:
        deployment.stop()


@pytest.fixture
def figures(request, capsys):
    """Print a run's figures as one JSON line, past pytest's capture (the soak's report; CI's log)."""

    def emit(name, data):
        with capsys.disabled():
            print(f"\nFIGURES {request.node.name} {name}: {json.dumps(data, sort_keys=True, default=str)}")

    return emit
