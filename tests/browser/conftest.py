"""A real browser for the end-user pages: Debian's Chromium driven by Playwright.

Playwright's own browser download does not work on these machines; .ci/run installs Debian's
chromium when it is missing. Without it these tests skip loudly on a workstation and fail in CI.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests, but {reason}")
    pytest.skip(f"BROWSER TESTS NOT RUN: {reason} (apt-get install chromium)")


@pytest.fixture(scope="module")
def chromium():
    """One Chromium per module: Playwright's sync API owns this thread's event loop while it runs, so
    it must be stopped before another module (the sample API's browser test) starts its own."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls tests make between
    # browser steps are still synchronous, so Django's async-safety guard is lifted while it runs
    # (and restored after this module, so no later test or child process inherits it).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, issuer):
    """A fresh browser context (no cookies) with a laptop-sized window; CSP errors collected."""
    context = chromium.new_context(viewport={"width": 1000, "height": 800}, base_url=issuer)
    page = context.new_page()
    page.csp_errors = []
    page.on(
        "console",
        lambda message: (
            page.csp_errors.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()


@pytest.fixture
def shoot():
    """shoot(page, name): save a full-page screenshot under test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
