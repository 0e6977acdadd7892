"""Every admin page, and every link on it, answers without a server error (issue 13, item 5).

The walk starts from real rows of every model (a full code flow leaves codes, tokens, families,
consents, keys and audit events behind), opens each model's list, add page, every row's change,
history and delete page, then follows every same-site link on those pages once.
"""

import re
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib import admin
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse

from tests.admin.test_signet_admin import _failures
from tests.tokens.conftest import exchange, mint_code

pytestmark = pytest.mark.django_db(transaction=True)

HREF = re.compile(r'href="([^"]*)"')


def links(html, base):
    for href in HREF.findall(html):
        url = urljoin(base, unescape(href))
        parts = urlsplit(url)
        if parts.netloc in ("", "testserver") and parts.path.startswith("/admin/"):
            yield parts.path + (f"?{parts.query}" if parts.query else "")


def pages_of_every_model(operator):
    request = RequestFactory().get("/admin/")
    request.user = operator
    yield reverse("admin:index")
    for app in admin.site.get_app_list(request):
        yield app["app_url"]
        for entry in app["models"]:
            yield entry["admin_url"]
            if entry["add_url"]:
                yield entry["add_url"]
            opts = entry["model"]._meta
            for pk in entry["model"]._default_manager.values_list("pk", flat=True)[:5]:
                for view in ("change", "history", "delete"):
                    yield reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[pk])


def test_every_admin_page_and_link_answers_without_an_error(issuer, rp_client, user, django_user_model):
    client, secret = rp_client
    code, verifier = mint_code(client, user, scope="openid profile email offline_access")
    assert exchange(issuer, client, secret, code, verifier).status_code == 200
    mint_code(client, user)  # one code left unused
    _failures("alice@example.com", "203.0.113.5", 5)  # a locked sign-in on the Lockouts page
    operator = django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    http = HttpClient(raise_request_exception=False)
    http.force_login(operator)

    answered, errors = {}, []
    pages = list(dict.fromkeys(pages_of_every_model(operator)))
    assert len(pages) > 20, pages  # the walk really covers the models and their rows
    for page in pages:
        response = http.get(page)
        answered[page] = response.status_code
        if response.status_code >= 500:
            errors.append((page, response.status_code, "page"))
            continue
        for link in links(response.content.decode(), page):
            if link in answered or "/logout/" in link:
                continue
            linked = http.get(link)
            answered[link] = linked.status_code
            if linked.status_code >= 500:
                errors.append((link, linked.status_code, f"linked from {page}"))
    print(f"FIGURES admin walk: {len(pages)} pages, {len(answered)} URLs answered")
    assert errors == [], errors
    assert any("/change/" in url for url in answered)
    assert answered[reverse("admin:axes_accessattempt_changelist")] == 200
