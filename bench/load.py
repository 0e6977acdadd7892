"""Load from a separate process: wrk (Debian's package) with bench/wrk/request.lua, loopback only."""

import json
import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "wrk" / "request.lua"


class LoadError(RuntimeError):
    pass


def ensure_wrk():
    if shutil.which("wrk") is None:
        raise LoadError("wrk is not installed: apt-get install -y wrk (Debian's package)")


def wrk(
    url,
    *,
    seconds,
    method="GET",
    body="",
    headers=None,
    items=None,
    rotate=False,
    max_requests=0,
    threads=1,
    connections=8,
):
    """Run wrk against a loopback URL for at most `seconds`; return its counters (see request.lua)."""
    if not url.startswith(("http://127.", "http://localhost")):
        raise LoadError(f"refusing to load a non-loopback URL: {url}")
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{max(connections, threads)}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(SCRIPT),
    ]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(url)
    env = {
        **os.environ,
        "BENCH_METHOD": method,
        "BENCH_BODY": body,
        "BENCH_ITEMS": str(items or ""),
        "BENCH_ROTATE": "1" if rotate else "0",
        "BENCH_MAX": str(max_requests),
        "BENCH_THREADS": str(threads),
    }
    # A hard bound in case a server stops answering: wrk's own -d plus a margin.
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 120)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line[len("BENCH_RESULT ") :])
            break
    else:
        raise LoadError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout[-2000:]}")
    errors = result["status"] + result["connect"] + result["read"] + result["write"] + result["timeout"]
    result["served"] = max(0, result["requests"] - result["status"])
    result["errors"] = errors
    result["seconds"] = result["duration_us"] / 1e6
    return result
