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
