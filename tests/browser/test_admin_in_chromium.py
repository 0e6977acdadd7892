"""The admin's index and Lockouts page in Chromium: Signet's sections, and Unlock doing its job."""

from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client as HttpClient

from tests.admin.test_signet_admin import _failures

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator_page(page, issuer, django_user_model):
    """The browser page with an operator's admin session (signed in through Django's test client)."""
    operator = django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    http = HttpClient()
    http.force_login(operator)
    cookie = http.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": cookie,
                "domain": urlsplit(issuer).hostname,
                "path": "/",
            }
        ]
    )
    return page


def test_the_index_shows_signets_sections_and_unlock_lifts_a_lock(operator_page, shoot):
    page = operator_page
    page.goto("/admin/")
    captions = [c.strip() for c in page.locator("#content-main caption").all_text_contents()]
    assert captions == ["Clients", "Users", "Signing keys", "Audit", "Lockouts", "Tasks"], captions
    shoot(page, "admin-01-index")

    _failures("alice@example.com", "203.0.113.5", 5)
    page.get_by_role("link", name="Locked sign-ins").first.click()
    pairs = page.locator('table.lockouts[data-kind="pair"]')
    assert "alice@example.com" in pairs.inner_text() and "203.0.113.5" in pairs.inner_text()
    shoot(page, "admin-02-lockouts")
    pairs.get_by_role("button", name="Unlock").click()
    assert "Unlocked alice@example.com from 203.0.113.5" in page.locator(".messagelist").inner_text()
    assert page.locator('table.lockouts[data-kind="pair"]').count() == 0
    assert not AccessAttempt.objects.exists()
    assert page.csp_errors == []
