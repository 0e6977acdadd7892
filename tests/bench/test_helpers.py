"""The benchmark harness's pure helpers (bench/ itself never runs in the suite, and nothing here times)."""

import os

from bench import procstat, stats
from bench.profile import analyse
from bench.run import memory_summary


def test_summary_is_median_min_max_of_present_values():
    assert stats.summary([3.0, None, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert stats.summary([None]) is None


def test_ratios_pair_rounds_in_order_and_skip_missing_ones():
    assert stats.ratios([2.0, 9.0, None], [1.0, 3.0, 4.0]) == [2.0, 3.0, None]
    assert stats.ratios([1.0], [0]) == [None]


def test_fmt_shows_range_only_for_several_rounds():
    assert stats.fmt(stats.summary([1.0, 2.0, 4.0])) == "2.00 (1.00–4.00)"
    assert stats.fmt(stats.summary([1.234])) == "1.23"
    assert stats.fmt(None) == "n/a"


def test_cpu_of_this_process_tree_is_read_from_proc():
    pid = os.getpid()
    assert pid in procstat.tree(pid)
    before = procstat.tree_cpu_seconds(pid)
    sum(i * i for i in range(300_000))  # burn a little CPU
    assert procstat.tree_cpu_seconds(pid) >= before > 0
    assert procstat.memory_kb(pid)["rss"] > 0


def test_postgres_backend_titles_match_with_and_without_cluster_name(monkeypatch, tmp_path):
    titles = {
        "101": b"postgres: 15/main: postgres signet_bench 127.0.0.1(5000) idle\0",
        "102": b"postgres: postgres signet_bench 127.0.0.1(5001) idle\0",
        "103": b"postgres: 15/main: postgres signet_bench_template 127.0.0.1(5002) idle\0",
        "104": b"postgres: 15/main: checkpointer \0",
    }
    for pid, title in titles.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "cmdline").write_bytes(title)
    real_open = open
    monkeypatch.setattr(os, "listdir", lambda path: list(titles) if path == "/proc" else [])
    monkeypatch.setattr(
        "builtins.open",
        lambda path, *a, **k: real_open(str(path).replace("/proc", str(tmp_path)), *a, **k),
    )
    assert sorted(procstat.postgres_backends("signet_bench")) == [101, 102]


def test_memory_summary_flags_growth_after_warmup():
    def sample(n, *rss_mb):
        return {"requests": n, "workers": [{"rss": r * 1024, "hwm": (r + 5) * 1024} for r in rss_mb]}

    # Growth while warming up (the first quarter of the requests) does not count.
    flat = memory_summary(
        [sample(500, 60, 60), sample(1000, 90, 90)] + [sample(1000 * n, 90, 91) for n in range(2, 8)]
    )
    assert flat["flat"] and flat["warmup_requests"] == 1000
    growing = memory_summary([sample(1000, 80), sample(2000, 90), sample(3000, 100), sample(4000, 110)])
    assert not growing["flat"] and growing["workers"][0]["growth_mb"] == 30.0


def test_profile_counts_cpu_samples_and_drops_waits(tmp_path):
    raw = tmp_path / "raw.txt"
    handle = "MainThread;handle (/x/site-packages/gunicorn/workers/gthread.py:1)"
    psycopg = "/x/site-packages/psycopg/connection.py:5"
    raw.write_text(
        f"{handle};sign (/work/main/keys/crypto.py:9) 30\n"
        f"{handle};wait ({psycopg}) 5\n"
        f"{handle};Connection.wait ({psycopg}) 50\n"
    )
    total, waiting, ms, inclusive, self_time, packages = analyse(raw, served=10)
    assert (total, waiting) == (35, 50)
    assert packages["Signet keys/"] == 30 and packages["psycopg"] == 5
    assert inclusive["handle (gunicorn/workers/gthread.py)"] == 35
    assert round(ms(25), 6) == 10.0  # 25 samples at 250 Hz over 10 requests


def test_database_cpu_keeps_the_seconds_of_backends_that_exited():
    total = procstat.MonotonicCpu()
    assert total.update({101: 1.0, 102: 2.0}) == 3.0
    assert total.update({101: 1.5}) == 3.5  # 102 closed its connection: its 2 s still count


def test_the_floor_table_shows_each_view_against_the_peers_grant():
    from bench.run import floor_table

    def row(cpu, ratio):
        return {
            "rps": stats.summary([1000.0]),
            "cpu_ms": stats.summary([cpu]),
            "ratio_cpu": stats.summary([ratio]),
        }

    servers = {"0a": row(0.3, 0.5), "0c": row(1.1, 1.83)}
    servers["peer"] = {"rps": stats.summary([2500.0]), "cpu_ms": stats.summary([0.6])}
    table = "\n".join(floor_table({"servers": servers}))
    assert "| 0c | floor: + one INSERT of the token's checksum (raw cursor) | 1000 | 1.10 | 1.83 |" in table
    assert "| 1 (peer) | the peer's client credentials, same rounds | 2500 | 0.60 | 1 |" in table
    assert floor_table(None) == []
    assert "n/a: no database" in floor_table({"na": "no database"})[0]


SMAPS_ROLLUP = """\
560ad42ed000-7fff2b27e000 ---p 00000000 00:00 0                          [rollup]
Rss:               91708 kB
Pss:               60232 kB
Pss_Anon:          50116 kB
Shared_Clean:       1548 kB
Swap:                 12 kB
SwapPss:               8 kB
"""


def test_smaps_rollup_counters_are_read_by_name_and_the_range_line_is_not_one():
    values = procstat.parse_smaps_rollup(SMAPS_ROLLUP)
    assert values["pss"] == 60232 and values["rss"] == 91708 and values["pss_anon"] == 50116
    assert values["swappss"] == 8
    assert not any(name.startswith("560ad") for name in values)


def test_summed_pss_counts_swapped_pages_and_is_none_when_a_process_is_gone(monkeypatch):
    readings = {1: procstat.parse_smaps_rollup(SMAPS_ROLLUP), 2: {"pss": 1000}, 3: {}}
    monkeypatch.setattr(procstat, "smaps_kb", lambda pid: readings[pid])
    assert procstat.pss_total_kb([1, 2]) == 60232 + 8 + 1000
    assert procstat.pss_total_kb([1, 3]) is None
    assert procstat.pss_total_kb([]) is None


def test_this_process_has_a_pss():
    assert procstat.pss_total_kb([os.getpid()]) > 0


def test_instance_memory_judges_the_end_against_the_limit_and_growth_after_warmup():
    from bench.run import instance_memory

    def sample(n, pss_mb):
        return {"requests": n, "workers": [], "pss_kb": pss_mb * 1024, "processes": 3}

    before = sample(0, 100)
    # Eight samples: warm-up ends with the second, a quarter of the way.
    flat = instance_memory(before, [sample(n * 1000, 140 if n <= 2 else 143) for n in range(1, 9)], workers=2)
    assert flat["pss_before_mb"] == 100 and flat["pss_after_warmup_mb"] == 140
    assert flat["pss_end_mb"] == 143 and flat["growth_mb"] == 3 and flat["warmup_requests"] == 2000
    assert flat["flat"] and flat["within_limit"]
    growing = instance_memory(before, [sample(n * 1000, 140 + 3 * n) for n in range(1, 9)], workers=2)
    assert not growing["flat"] and not growing["within_limit"]  # 164 MB at the end, +21 MB
    unreadable = instance_memory(before, [dict(sample(1000, 0), pss_kb=None)], workers=2)
    assert unreadable["within_limit"] is None and unreadable["flat"] is None


def test_scenario_8_fills_per_token_tables_only_while_requests_add_rows_to_them():
    from bench.signet_fixtures import tables_to_fill

    present = {
        "access_token": "at",
        "id_token": "idt",
        "refresh_token": "rt",
        "token_family": "fam",
        "audit_event": "audit",
    }
    before_rewrite = tables_to_fill(present, grew={"at", "idt", "rt", "fam", "audit"})
    assert before_rewrite == ["access_token", "id_token", "refresh_token", "token_family", "audit_event"]
    # Self-contained access tokens: their table is still there but nothing writes to it.
    assert tables_to_fill(present, grew={"rt", "fam"}) == ["refresh_token", "token_family", "audit_event"]
    del present["token_family"]
    assert tables_to_fill(present, grew=set()) == ["refresh_token", "audit_event"]


def test_tables_that_grew_are_those_with_more_rows_after_the_probe():
    from bench.run import tables_that_grew

    assert tables_that_grew({"a": 1, "b": 2, "c": 0}, {"a": 1, "b": 3, "c": 0, "d": 1}) == ["b", "d"]


def test_endpoint_paths_come_from_the_metadata_whatever_the_instances_port():
    from bench.servers import Server

    server = Server()
    server.url = "http://127.0.0.1:4000"
    server.metadata = {"token_endpoint": "http://127.0.0.1:55555/token", "jwks_uri": "http://x/jwks?v=2"}
    assert server.path("token_endpoint") == "/token"
    assert server.path("jwks_uri") == "/jwks?v=2"


def _ratio_result(signet_cpu, peer_cpu, ratio):
    return {
        "servers": {
            "signet": {"cpu_ms": stats.summary([signet_cpu]), "rps": stats.summary([100.0]), "errors": 0},
            "peer": {"cpu_ms": stats.summary([peer_cpu]), "rps": stats.summary([500.0]), "errors": 0},
        },
        "ratio_cpu": stats.summary([ratio]),
    }


def test_targets_give_each_figure_its_target_and_verdict():
    from bench.run import target_rows, targets

    floor = _ratio_result(0.4, 0.1, 4.0)
    floor["servers"]["0a"] = {"cpu_ms": stats.summary([0.35])}
    floor["ratio_floor"] = stats.summary([1.14])
    results = {
        "1": _ratio_result(1.2, 0.6, 2.0),
        "3": _ratio_result(2.0, 0.5, 4.0),
        "4a": floor,
        "10": {"na": "failed: no introspection endpoint"},
        "11": {"seconds": stats.summary([2.5, 3.5, 2.9]), "runs": [2.5, 3.5, 2.9], "workers": 2},
    }
    rows = {(r["scenario"], r["what"]): r for r in target_rows(results)}
    assert rows[("1", "client credentials")]["verdict"] == "met"  # at the line is within it
    assert rows[("1", "client credentials")]["value"] == 2.0
    assert rows[("3", "refresh with rotation")]["verdict"] == "NOT MET"
    assert rows[("4a", "discovery GET")]["verdict"] == "met"
    assert rows[("4a", "discovery GET")]["figure"].startswith("1.14× (0.40 vs 0.35 ms; peer ratio 4.00×)")
    assert rows[("10", "introspection")]["verdict"] == "n/a"
    cold = next(r for r in rows.values() if r["scenario"] == "11")
    assert cold["verdict"] == "met" and cold["figure"] == "2.90 (2.50–3.50) s"
    assert not any(r["scenario"] in ("2", "5", "9") for r in rows.values())  # not run: no row
    printed = "\n".join(targets(results, quick=True))
    assert "| 3 | issue 15 | refresh with rotation | 4.00× (2.00 vs 0.50 ms) |" in printed
    assert "mean nothing" in printed


def test_memory_targets_read_the_instance_figures():
    from bench.run import instance_memory, memory_summary, target_rows

    samples = [
        {"requests": n * 1000, "workers": [{"rss": 80 * 1024, "hwm": 81 * 1024}] * 2, "pss_kb": 160 * 1024}
        for n in range(1, 5)
    ]
    signet = memory_summary(samples)
    signet["instance"] = instance_memory(dict(samples[0], pss_kb=120 * 1024), samples, workers=2)
    rows = target_rows({"9": {"signet": signet}})
    pss = next(r for r in rows if "summed PSS after" in r["what"])
    assert pss["verdict"] == "NOT MET" and pss["figure"] == "160.0 MB (before the load 120.0 MB)"
    assert "master + 2 workers" in pss["what"]
    assert next(r for r in rows if "flat after warm-up" in r["what"])["verdict"] == "met"
