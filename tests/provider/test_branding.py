"""Branding: the operator's name, logo and colour from the environment, checked at start-up; the colour
as /branding.css under the strict CSP; the template folder searched before Signet's own."""

import re
from pathlib import Path

import pytest
import requests
from django.core import mail
from django.test import Client

from provider.branding import stylesheet
from tests.provider.test_settings import REQUIRED, _load_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FOLDERS = ["templates", "accounts/templates", "provider/oidc/templates", "keys/templates"]
ACME = {"SIGNET_SITE_NAME": "Acme ID", "SIGNET_PRIMARY_COLOR": "#0a7d38"}


# --- settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["green", "#12345", "#1234567", "1f4fc7", "#1f4fc7;}body{x:y", "#ggg"])
def test_a_colour_that_is_not_css_hex_stops_start_up_naming_the_variable(value):
    result = _load_settings({**REQUIRED, "SIGNET_PRIMARY_COLOR": value})
    assert result.returncode != 0 and "SIGNET_PRIMARY_COLOR must be a CSS hex colour" in result.stderr


@pytest.mark.parametrize(
    "value", ["javascript:alert(1)", "http://cdn.example.com/logo.png", "//cdn.example.com/l.png", "logo.png"]
)
def test_a_logo_url_that_is_not_https_a_path_or_an_image_stops_start_up(value):
    result = _load_settings({**REQUIRED, "SIGNET_LOGO_URL": value})
    assert result.returncode != 0 and "SIGNET_LOGO_URL must be" in result.stderr


@pytest.mark.parametrize(
    ("logo", "img_src"),
    [
        ("https://cdn.example.com/brand/logo.svg?v=2", "'self' data: https://cdn.example.com"),
        ("/static/acme/logo.svg", "'self' data:"),
        ("data:image/png;base64,iVBORw0KGgo=", "'self' data:"),
        ("", "'self' data:"),
    ],
)
def test_only_the_logo_origin_joins_the_image_sources(logo, img_src):
    result = _load_settings(
        {**REQUIRED, "SIGNET_LOGO_URL": logo},
        code="print(' '.join(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == img_src


def test_a_missing_templates_folder_stops_start_up(tmp_path):
    result = _load_settings({**REQUIRED, "SIGNET_TEMPLATES_DIR": str(tmp_path / "nowhere")})
    assert result.returncode != 0 and "SIGNET_TEMPLATES_DIR is not a folder" in result.stderr


def test_the_templates_folder_is_searched_before_signets_own(tmp_path):
    """An operator's base.html may extend Signet's own and replace only the blocks it changes."""
    (tmp_path / "base.html").write_text('{% extends "base.html" %}{% block footer %}Acme Corp{% endblock %}')
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "logged_out.html").write_text(
        '{% extends "base.html" %}{% block content %}<h1>Bye from {{ site_name }}</h1>{% endblock %}'
    )
    code = (
        "from django.template.loader import render_to_string; "
        "from django.test import RequestFactory; "
        "from django.contrib.auth.models import AnonymousUser; "
        "request = RequestFactory().get('/'); request.user = AnonymousUser(); "
        "print(render_to_string('accounts/logged_out.html', request=request))"
    )
    result = _load_settings({**REQUIRED, **ACME, "SIGNET_TEMPLATES_DIR": str(tmp_path)}, code=code)
    assert result.returncode == 0, result.stderr
    assert "<h1>Bye from Acme ID</h1>" in result.stdout
    assert "<footer>Acme Corp</footer>" in result.stdout
    assert '<span class="site-name">Acme ID</span>' in result.stdout  # the rest of Signet's base.html


def _shown(template):
    template = re.sub(r"\{#.*?#\}", "", template)
    return template.replace('site_name|default:"Signet"', "site_name")


# --- templates -----------------------------------------------------------------------------------
def test_no_template_names_signet_itself():
    """Pages and emails take the name from SIGNET_SITE_NAME (site_name), never from a literal.

    Comments are not shown, nor is a `default:"Signet"` fallback: the context processor always sets
    site_name."""
    named = [
        str(path.relative_to(ROOT))
        for folder in TEMPLATE_FOLDERS
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".html", ".txt") and re.search(r"\bSignet\b", _shown(path.read_text()))
    ]
    assert named == []


def test_every_page_template_loads_the_translation_tags():
    untranslatable = [
        str(path.relative_to(ROOT))
        for folder in TEMPLATE_FOLDERS
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".html", ".txt")
        and not path.name.startswith("_")
        and re.search(r">\s*[A-Z][a-z]+[^<{]*<", path.read_text())
        and "{% load i18n" not in path.read_text()
        and "{% load static i18n" not in path.read_text()
    ]
    assert untranslatable == []


# --- the stylesheet ------------------------------------------------------------------------------
def test_branding_css_carries_the_colour_and_is_cached_by_its_url(issuer, settings):
    settings.SIGNET_PRIMARY_COLOR = "#0a7d38"
    page = requests.get(f"{issuer}/accounts/login/", timeout=10)
    href = re.search(r'<link rel="stylesheet" href="(/branding\.css\?v=[0-9a-f]+)">', page.text).group(1)
    css = requests.get(f"{issuer}{href}", timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert "--accent: #0a7d38;" in css.text
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = requests.get(f"{issuer}{href}", headers={"If-None-Match": css.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    # A new colour is a new URL: a browser holding the old stylesheet for a year still sees the change.
    settings.SIGNET_PRIMARY_COLOR = "#b42318"
    changed = requests.get(f"{issuer}/accounts/login/", timeout=10).text
    assert href not in changed and "/branding.css?v=" in changed
    unversioned = requests.get(f"{issuer}/branding.css", timeout=10)
    assert "--accent: #b42318;" in unversioned.text
    assert unversioned.headers["Cache-Control"] == "no-cache"  # only the versioned URL is kept long
    stale = requests.get(f"{issuer}{href}", timeout=10)  # the old colour's URL now serves the new one
    assert "--accent: #b42318;" in stale.text and stale.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    ("colour", "on_accent"),
    [("#1f4fc7", "#ffffff"), ("#0a7d38", "#ffffff"), ("#ffd700", "#1b1f24"), ("#eee", "#1b1f24")],
)
def test_button_text_keeps_its_contrast_on_any_colour(colour, on_accent):
    assert f"--on-accent: {on_accent};" in stylesheet(colour).body.decode()


def test_short_hex_colours_are_spelt_out():
    assert "--accent: #aabbcc;" in stylesheet("#abc").body.decode()


# --- name and logo on pages, emails and the admin ------------------------------------------------
@pytest.mark.django_db
def test_pages_emails_and_the_admin_wear_the_brand(settings, user, admin_client):
    settings.SIGNET_SITE_NAME = "Acme ID"
    settings.SIGNET_LOGO_URL = "/static/acme/logo.svg"
    login = Client().get("/accounts/login/").content.decode()
    assert "<title>Sign in · Acme ID</title>" in login
    assert '<img class="logo" src="/static/acme/logo.svg" alt="">' in login
    assert "<footer>Acme ID · OpenID Connect</footer>" in login and "Signet" not in login

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    Client().post("/accounts/password/reset/", {"email": user.email})
    [message] = mail.outbox
    assert message.subject == "Reset your Acme ID password"
    assert f"the password of the Acme ID account {user.email}." in message.body

    admin = admin_client.get("/admin/").content.decode()
    assert "Acme ID administration" in admin and "/branding.css?v=" in admin
    assert '<img class="logo" src="/static/acme/logo.svg" alt=""' in admin
