"""The shipped catalogs (locale/): every string users see is translated in every shipped language, and
each committed .mo is the compiled form of its .po, so a stale .mo fails here rather than in production."""

import os
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
# The languages besides English, whose msgids are the source text.
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# What `manage.py makemessages` reads (README: Branding and languages): Signet's own apps and templates.
SOURCES = ["accounts", "keys", "provider", "templates"]
IGNORE = ["tests", "bench", "sample_api", "static", "staticfiles", "test-output"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]+\}")


def _catalog(lang):
    return polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / "django.po"))


def _compiled(entries):
    """What msgfmt puts in a .mo: translated, non-fuzzy, live entries, keyed as gettext looks them up."""
    out = {}
    for entry in entries:
        if not entry.msgid or entry.obsolete or "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural:
            forms = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
            if all(forms):
                out[(entry.msgctxt, entry.msgid, entry.msgid_plural)] = forms
        elif entry.msgstr:
            out[(entry.msgctxt, entry.msgid, None)] = entry.msgstr
    return out


def _needs_xgettext():
    if shutil.which("xgettext") and shutil.which("msgmerge"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI must check the translations, but GNU gettext is missing (apt-get install gettext)")
    pytest.skip("TRANSLATION COMPLETENESS NOT CHECKED: GNU gettext is missing (apt-get install gettext)")


def test_every_shipped_language_has_a_catalog():
    assert [code for code, _name in settings.LANGUAGES] == ["en", "de", "fr", "es"]
    for code, _name in settings.LANGUAGES:
        assert (LOCALE / code / "LC_MESSAGES" / "django.po").is_file(), code
        assert (LOCALE / code / "LC_MESSAGES" / "django.mo").is_file(), code
        assert _catalog(code).metadata["Language"] == code


@pytest.mark.parametrize("lang", [code for code, _name in settings.LANGUAGES])
def test_the_committed_mo_is_compiled_from_the_po(lang):
    """A .po edited without `compilemessages` leaves a .mo that says something else: caught here."""
    mo = polib.mofile(str(LOCALE / lang / "LC_MESSAGES" / "django.mo"))
    assert _compiled(mo) == _compiled(_catalog(lang)), "run: ./dev manage compilemessages"
    assert mo.metadata.get("Plural-Forms") == _catalog(lang).metadata["Plural-Forms"]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_no_string_of_the_catalog_is_left_untranslated_or_fuzzy(lang):
    catalog = _catalog(lang)
    live = [e for e in catalog if not e.obsolete]
    assert [e.msgid for e in live if not e.translated()] == []
    assert [e.msgid for e in live if "fuzzy" in e.flags] == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_every_placeholder(lang):
    """A lost %(name)s would drop a value from the page; a new one would raise when the page renders."""
    for entry in _catalog(lang):
        if entry.obsolete or not entry.translated():
            continue
        pairs = (
            [(entry.msgid, entry.msgstr_plural[0]), (entry.msgid_plural, entry.msgstr_plural[1])]
            if entry.msgid_plural
            else [(entry.msgid, entry.msgstr)]
        )
        for source, translation in pairs:
            wanted = sorted(set(PLACEHOLDER.findall(source)))
            # A singular form may spell out "one" instead of its %d, as gettext allows.
            assert sorted(set(PLACEHOLDER.findall(translation))) == wanted, (source, translation)


def test_the_sources_have_no_string_the_catalogs_lack(tmp_path, monkeypatch, settings):
    """makemessages over a copy of the sources: a new or changed string shows up untranslated or fuzzy."""
    _needs_xgettext()
    for name in SOURCES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(LOCALE, tmp_path / "locale")
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=TRANSLATED, ignore_patterns=IGNORE, verbosity=0)
    problems = {}
    for lang in TRANSLATED:
        catalog = polib.pofile(str(tmp_path / "locale" / lang / "LC_MESSAGES" / "django.po"))
        live = [e for e in catalog if not e.obsolete]
        missing = [e.msgid for e in live if not e.translated() or "fuzzy" in e.flags]
        if missing:
            problems[lang] = missing
    assert problems == {}, "run makemessages (README: Branding and languages), translate, compilemessages"
