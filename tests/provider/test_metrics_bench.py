"""bench/run.py's scenario 1m (metrics on vs off): its report and target, from figures (nothing timed)."""

from bench import stats
from bench.run import _metric_sum, metrics_cost_table, target_rows

EXPOSITION = """# HELP signet_tokens_issued_total Successful token responses, by grant type and client.
# TYPE signet_tokens_issued_total counter
signet_tokens_issued_total{client_id="a",grant_type="client_credentials"} 1500.0
signet_tokens_issued_total{client_id="b",grant_type="refresh_token"} 20.0
signet_tokens_issued_created 1.7e9
"""


def cost_result(off_ms, on_ms):
    return {
        "servers": {
            "signet": {"rps": stats.summary([500.0]), "cpu_ms": stats.summary([off_ms]), "errors": 0},
            "metrics_on": {"rps": stats.summary([495.0]), "cpu_ms": stats.summary([on_ms]), "errors": 0},
        },
        "ratio_cpu": stats.summary([on_ms / off_ms]),
        "ratio_rps": stats.summary([0.99]),
        "tokens_counted": 1520.0,
    }


def test_the_counted_tokens_are_summed_over_every_label():
    assert _metric_sum(EXPOSITION, "signet_tokens_issued_total") == 1520.0
    assert _metric_sum(EXPOSITION, "signet_sign_ins_total") == 0.0


def test_metrics_cost_is_judged_against_three_percent():
    within = {(r["scenario"], r["what"]): r for r in target_rows({"1m": cost_result(2.0, 2.05)})}
    row = within[("1m", "metrics on vs off")]
    assert row["verdict"] == "met" and row["figure"] == "1.02× (2.05 on vs 2.00 ms off)"
    beyond = {(r["scenario"], r["what"]): r for r in target_rows({"1m": cost_result(2.0, 2.1)})}
    assert beyond[("1m", "metrics on vs off")]["verdict"] == "NOT MET"
    table = "\n".join(metrics_cost_table(cost_result(2.0, 2.05)))
    assert "| metrics on | 495 | 2.05 |" in table and "| on / off | 0.99 | 1.02 |" in table
    failed = target_rows({"1m": {"na": "failed: boom"}})
    assert failed[0]["verdict"] == "n/a"
