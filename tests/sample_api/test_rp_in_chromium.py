"""The sample sign-in in a real browser (Chromium): the provider on localhost and the sample app on
127.0.0.1 are different sites, so this also proves the cookies survive the cross-site redirects."""

import pytest

from tests.browser.conftest import chromium, page, shoot  # noqa: F401  (the real-browser fixtures)
from tests.conftest import PASSWORD
from tests.sample_api.test_rp_login import rp  # noqa: F401  (the sample app, registered)

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_call_the_api_and_sign_out_in_chromium(page, shoot, rp, user, issuer):  # noqa: F811
    page.goto(f"{rp.url}/rp/")
    page.get_by_role("link", name="Sign in with Signet").click()

    page.wait_for_url(f"{issuer}/**")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_selector("#authorizationForm")
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(f"{rp.url}/rp/")
    assert page.locator("#who strong").inner_text() == "Alice Liddell"
    assert page.locator("#sub").inner_text() == str(user.pk)
    assert page.locator("#me-status").inner_text() == "200"
    assert "eyJ" not in page.content()  # no token in the page
    shoot(page, "sample-api-signed-in")

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    if page.url.startswith(f"{issuer}/logout"):  # the provider may ask first (the spec's SHOULD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign out").click()

    assert page.url == f"{rp.url}/rp/"
    assert page.get_by_role("link", name="Sign in with Signet").is_visible()
    # The provider's session ended too: signing in again asks for the password.
    page.get_by_role("link", name="Sign in with Signet").click()
    page.wait_for_url(f"{issuer}/**")
    assert page.get_by_label("Password").is_visible()
