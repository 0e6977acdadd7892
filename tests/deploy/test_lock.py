"""The hash-pinned lock files agree with pyproject.toml (deploy/lock.py writes them: `./dev lock`)."""

import importlib.util
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("signet_lock", ROOT / "deploy" / "lock.py")
lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock)

STALE = "pyproject.toml's dependencies changed since {name} was compiled: run ./dev lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(name):
    """{canonical name: (version, number of hashes)} of a lock file."""
    found, current = {}, None
    for line in (ROOT / name).read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            found[current] = [match.group(2), 0]
        elif current and line.strip().startswith("--hash=sha256:"):
            found[current][1] += 1
    return {name: tuple(value) for name, value in found.items()}


@pytest.mark.parametrize("name", [lock.DEV_LOCK, lock.RUNTIME_LOCK])
def test_each_lock_was_compiled_from_this_pyproject(name):
    assert lock.recorded_digest(ROOT / name) == lock.pyproject_digest(), STALE.format(name=name)


@pytest.mark.parametrize(
    ("name", "lists"),
    [(lock.DEV_LOCK, ["dependencies", "dev", "build"]), (lock.RUNTIME_LOCK, ["dependencies", "build"])],
)
def test_every_pyproject_requirement_is_pinned_within_its_range(name, lists):
    pinned = pins(name)
    for listed in lists:
        for text in lock.locked_lists()[listed]:
            requirement = Requirement(text)
            key = canonicalize_name(requirement.name)
            assert key in pinned, f"{requirement.name} is missing from {name}: run ./dev lock"
            version, _ = pinned[key]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{name} pins {requirement.name}=={version}, outside pyproject's {requirement.specifier}"
            )


def test_every_pin_carries_a_hash_and_the_image_installs_the_dev_versions():
    dev, runtime = pins(lock.DEV_LOCK), pins(lock.RUNTIME_LOCK)
    assert len(runtime) >= 20 and set(runtime) <= set(dev)
    for name, (_version, hashes) in {**dev, **runtime}.items():
        assert hashes >= 1, f"{name} has no hash"
    # Tests run the versions the image ships (requirements.lock is compiled against the dev lock).
    assert {name: pin[0] for name, pin in runtime.items()} == {name: dev[name][0] for name in runtime}
    # The dev-only tools stay out of the image.
    assert {"pytest", "playwright", "ruff", "uv"} <= set(dev) - set(runtime)


def test_the_digest_follows_the_dependency_lists_and_nothing_else(tmp_path):
    text = (ROOT / "pyproject.toml").read_text()
    copy = tmp_path / "pyproject.toml"
    copy.write_text(text.replace('description = "', 'description = "Reworded: '))
    assert lock.pyproject_digest(copy) == lock.pyproject_digest()
    copy.write_text(text.replace("dependencies = [\n", 'dependencies = [\n    "left-pad>=1",\n', 1))
    assert lock.pyproject_digest(copy) != lock.pyproject_digest()
    copy.write_text(text.replace('    "PyYAML>=6,<7",\n', '    "PyYAML>=6.0.1,<7",\n'))
    assert lock.pyproject_digest(copy) != lock.pyproject_digest()


def test_the_dev_script_and_the_image_install_from_the_locks_with_hashes():
    dev = (ROOT / "dev").read_text()
    assert "LOCK=requirements-dev.lock" in dev
    assert 'pip_install --require-hashes -r "$LOCK"' in dev
    assert "pip_install --no-deps --no-build-isolation -e ." in dev
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install [^\n]*--require-hashes -r requirements\.lock", dockerfile)
    assert re.search(r"pip install [^\n]*--no-deps --no-build-isolation \.", dockerfile)
    # Debian's Chromium runs the browser tests: nothing downloads Playwright's own browsers.
    for script in ("dev", "Dockerfile", ".ci/run"):
        assert "playwright install" not in (ROOT / script).read_text(), script
