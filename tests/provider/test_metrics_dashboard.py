"""The example Grafana dashboard (deploy/grafana/) queries only metrics /metrics exposes."""

import json
import re
from pathlib import Path

import pytest

from tests.oidc.flows import Flow
from tests.provider.test_metrics import metrics_on, scrape  # noqa: F401 - the fixture, by name

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "signet-dashboard.json"
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}


def queried_names():
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [
        t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", []) if "expr" in t
    ]
    assert expressions
    return {name for expr in expressions for name in re.findall(r"\b(signet_[a-z_]+)\b", expr)}


def test_every_metric_the_dashboard_queries_is_exposed(issuer, metrics_on, browser, rp_client, user):  # noqa: F811
    client, secret = rp_client
    Flow(issuer=issuer, browser=browser, client=client, secret=secret).tokens()
    page = scrape(issuer)
    exposed = set()
    for family in page.families.values():
        exposed.add(family.name)
        exposed.update(family.name + suffix for suffix in SUFFIXES.get(family.type, []))
    queried = queried_names()
    assert len(queried) >= 10, queried
    assert queried <= exposed, sorted(queried - exposed)
