"""`./dev lock`: compile the hash-pinned lock files from pyproject.toml with uv.

requirements-dev.lock holds the runtime and dev dependencies (`./dev` installs it); requirements.lock
the runtime ones at the same versions (the Dockerfile installs it). Both pin setuptools, the build
backend, so `pip install --no-build-isolation` of the project fetches nothing unpinned. Each records a
digest of the pyproject lists it came from; tests/deploy/test_lock.py compares it with pyproject.toml.
"""

import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_LOCK = "requirements-dev.lock"
RUNTIME_LOCK = "requirements.lock"
DIGEST_LINE = "# pyproject-sha256: "
# The image's Python and pyproject's floor; --universal adds markers, so one lock serves every platform.
COMPILE = ["pip", "compile", "--generate-hashes", "--universal", "--python-version", "3.11", "--quiet"]


def locked_lists(pyproject=ROOT / "pyproject.toml"):
    """The pyproject lists the locks are compiled from: runtime, dev extra and build requirements."""
    data = tomllib.loads(Path(pyproject).read_text())
    return {
        "dependencies": data["project"]["dependencies"],
        "dev": data["project"]["optional-dependencies"]["dev"],
        "build": data["build-system"]["requires"],
    }


def pyproject_digest(pyproject=ROOT / "pyproject.toml"):
    """sha256 of those lists: any edit to them, and only to them, changes it."""
    canonical = json.dumps(locked_lists(pyproject), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded_digest(lock_path):
    """The digest a lock file's header records, or None."""
    for line in Path(lock_path).read_text().splitlines():
        if line.startswith(DIGEST_LINE):
            return line[len(DIGEST_LINE) :].strip()
    return None


def compile_lock(uv, output, sources, extra_args):
    # uv keeps the pins already in `output` unless told to upgrade: adding one dependency moves no other.
    build = "\n".join(locked_lists()["build"]) + "\n"
    subprocess.run(  # noqa: S603 (the developer's own uv, on this repository's files)
        [uv, *COMPILE, "--custom-compile-command", "./dev lock", "-o", output, *sources, "-", *extra_args],
        cwd=ROOT,
        input=build,
        text=True,
        check=True,
    )
    path = ROOT / output
    header = (
        "# Hash-pinned: regenerate with ./dev lock (--upgrade: newest versions), never edit by hand.\n"
        f"{DIGEST_LINE}{pyproject_digest()}\n"
    )
    path.write_text(header + path.read_text())


def main(uv, *extra_args):
    compile_lock(uv, DEV_LOCK, ["pyproject.toml", "--extra", "dev"], extra_args)
    # The runtime lock is constrained to the dev lock's versions: tests run what the image installs.
    compile_lock(uv, RUNTIME_LOCK, ["pyproject.toml", "-c", DEV_LOCK], extra_args)
    print(f"wrote {DEV_LOCK} and {RUNTIME_LOCK} (pyproject-sha256 {pyproject_digest()[:12]}...)")


if __name__ == "__main__":
    main(*sys.argv[1:])
