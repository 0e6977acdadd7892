"""A pytest plugin that reads every log record of the whole test run for secrets.

Secrets are never handed to a logger (the JSON formatter's masking is only a last defence), so the
scan reads each record's raw message and traceback: a JWT, a private key, or the suite's test
password anywhere fails the run, listing the records in test-output/log-scan.txt.
"""

import logging
import re
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "test-output" / "log-scan.txt"
SHAPES = {
    "jwt": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\"d\"\s*:\s*\"[A-Za-z0-9_-]{40,}"),
}


class SecretScanner(logging.Handler):
    def __init__(self, literals):
        super().__init__(level=logging.NOTSET)
        self.literals = [value for value in literals if value]
        self.leaks = []

    def emit(self, record):
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not this scanner's business
            return
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        found = [name for name, shape in SHAPES.items() if shape.search(text)]
        found += ["test password" for value in self.literals if value in text]
        if found:
            self.leaks.append(
                f"{', '.join(found)} in {record.name} ({record.pathname}:{record.lineno}): {text[:500]}"
            )


_scanner = None


def _attach():
    root = logging.getLogger()
    if _scanner not in root.handlers:  # Django's dictConfig replaces the root handlers when it runs
        root.addHandler(_scanner)


def pytest_sessionstart(session):
    global _scanner
    from tests.conftest import PASSWORD

    _scanner = SecretScanner([PASSWORD])
    _attach()


def pytest_runtest_setup(item):
    _attach()


def pytest_sessionfinish(session, exitstatus):
    if _scanner is None or not _scanner.leaks:
        return
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(_scanner.leaks) + "\n")
    session.exitstatus = 1
    print(f"\nSECRETS IN THE LOGS: {len(_scanner.leaks)} log record(s) carried a secret; see {REPORT}")
