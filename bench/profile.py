"""`./dev bench --profile 1|2|3|4a|4c|5|10`: where Signet's CPU goes on one endpoint, in ms CPU per request.

Starts Signet alone (one gunicorn worker with one thread, so one thread holds every sample), drives
the scenario's load with wrk and samples the worker with py-spy (the `bench` extra) at the same time.
Samples ending in a database, Redis or socket wait are dropped; the rest are shared out over /proc's
CPU ms per request for the same window. Prints self time
by package, the top functions by inclusive and by self time, and the SQL one request runs.
Raw stacks: bench/results/profile/profile-<scenario>.txt.
"""

import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.servers import ROOT, VENV_BIN, Signet

RATE = 250  # samples per second per thread

PACKAGES = (
    ("oauthlib", "/oauthlib/"),
    ("DOT (oauth2_provider)", "/oauth2_provider/"),
    ("jwcrypto", "/jwcrypto/"),
    ("cryptography", "/cryptography/"),
    ("psycopg", "/psycopg"),
    ("Django ORM", "/django/db/"),
    ("Django templates", "/django/template"),
    ("Django other", "/django/"),
    ("DRF", "/rest_framework/"),
    ("gunicorn", "/gunicorn/"),
    ("redis", "/redis/"),
    ("logging", "/logging/"),
    ("json", "/json/"),
    ("Signet provider/", "/provider/"),
    ("Signet keys/", "/keys/"),
    ("Signet accounts/", "/accounts/"),
    ("Signet audit/", "/audit/"),
    ("stdlib", "/lib/python3"),
)


def ensure_py_spy():
    exe = VENV_BIN / "py-spy"
    if not exe.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[bench]"], check=True
        )
    return str(exe if exe.exists() else shutil.which("py-spy"))


def parse_frame(frame):
    """'func (path/to/file.py:12)' → ('func', 'path/to/file.py')."""
    name, _, rest = frame.partition(" (")
    return name, rest.rsplit(":", 1)[0]


def package_of(path):
    for label, marker in PACKAGES:
        if marker in path:
            return label
    return "other"


# Leaf frames where a thread waits rather than computes. py-spy's idle detection misses these (psycopg
# waits in its C extension), so they are dropped: what remains approximates CPU time.
WAITS = (
    "Connection.wait (",
    "_read_from_socket (",
    "EpollSelector.select (",
    "PollSelector.select (",
    "Condition.wait (",
    "Event.wait (",
    "_WorkItem.run (",
)


def analyse(raw_path, served):
    inclusive, self_time, packages = Counter(), Counter(), Counter()
    total = waiting = 0
    for line in Path(raw_path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        count = int(count)
        frames = [f for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        if frames[-1].startswith(WAITS):
            waiting += count
            continue
        total += count
        seen = set()
        for frame in frames:
            name, path = parse_frame(frame)
            key = f"{name} ({_short(path)})"
            if key not in seen:
                inclusive[key] += count
                seen.add(key)
        name, path = parse_frame(frames[-1])
        self_time[f"{name} ({_short(path)})"] += count
        packages[package_of(path)] += count

    def ms(samples):
        return samples / RATE * 1000 / served

    return total, waiting, ms, inclusive, self_time, packages


def _short(path):
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main(run, args):
    scenario = args.profile
    from bench import run as bench_run

    if scenario not in bench_run.PREPARERS:
        sys.exit(f"--profile takes one of {', '.join(bench_run.PREPARERS)}")
    py_spy = ensure_py_spy()
    # Its own database and files, so a profile can run while a benchmark does.
    run.workdir = bench_run.RESULTS / "profile"
    run.workdir.mkdir(parents=True, exist_ok=True)
    signet = Signet(
        workdir=run.workdir,
        dbname=f"{args.db}_profile",
        # One worker with one thread: every sample is that thread, and no sample is a thread queueing
        # for the logging lock or the GIL behind another (which py-spy would count as busy).
        workers=1,
        threads=1,
        redis_url=args.redis_url,
    )
    run.signet = signet
    raw = run.workdir / f"profile-{scenario}.txt"
    try:
        signet.prepare()
        signet.start()
        prepare = bench_run.PREPARERS[scenario](run)
        run.wrk(signet, 3, prepare(signet, 3))  # warm-up, unsampled
        request = prepare(signet, args.profile_seconds)
        worker = signet.worker_pids()[0]
        spy = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(worker),
                "--rate",
                str(RATE),
                "--format",
                "raw",
                "--output",
                str(raw),
                "--nonblocking",
                "--full-filenames",
                "--duration",
                str(int(args.profile_seconds) + 2),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1)
        measured = run.measure(signet, lambda: run.wrk(signet, args.profile_seconds, request))
        _, err = spy.communicate(timeout=args.profile_seconds + 60)
        if spy.returncode != 0 or not raw.exists():
            sys.exit(f"py-spy failed: {err.strip()[-1000:]}")
        sql = ""
        if scenario in ("1", "2", "3", "5", "10"):
            fixtures = str(run.workdir / "signet-fixtures.json")
            sql = signet.fixture("queries", "--scenario", scenario, "--fixtures", fixtures)
    finally:
        signet.stop()
        if not args.keep:
            signet.drop_database()

    total, waiting, ms, inclusive, self_time, packages = analyse(raw, measured["served"])
    # A runnable thread waiting for a CPU on a busy machine looks busy to py-spy, so samples overstate
    # CPU; their proportions do not. Every figure below is scaled so the samples add up to /proc's.
    scale = measured["cpu_ms"] / ms(total) if total else 0.0
    print(
        f"scenario {scenario}: {measured['served']} requests, {measured['rps']:.0f} req/s, "
        f"{measured['cpu_ms']:.2f} ms CPU/request by /proc; py-spy: {total} samples of work, "
        f"{waiting} waiting on PostgreSQL, Redis or sockets (dropped). Figures: ms of CPU per request, "
        f"the samples' shares of /proc's total"
    )
    print("\nself time by package:")
    for label, samples in packages.most_common():
        print(f"  {ms(samples) * scale:6.3f}  {label}")
    print("\ntop functions, inclusive:")
    for key, samples in inclusive.most_common(45):
        print(f"  {ms(samples) * scale:6.3f}  {key}")
    print("\ntop functions, self:")
    for key, samples in self_time.most_common(25):
        print(f"  {ms(samples) * scale:6.3f}  {key}")
    # The provider's JSON log lines share stdout with the listing.
    print("\n" + "\n".join(line for line in sql.splitlines() if not line.startswith("{")))
    print(f"raw stacks: {raw}")
    return 0
