"""The catalogues are complete: every language has every string translated (none untranslated
or fuzzy), the compiled .mo files match their .po files, and `makemessages`, run over the
code into a temporary directory, finds no string the catalogues lack.

After adding or changing a user-facing string: `make messages`, translate the new entries in
each abmcrm/core/locale/<lang>/LC_MESSAGES/django.po, then `make compilemessages`
(docs/guide/languages.md)."""

import os
import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "abmcrm" / "core" / "locale"
# Locale directory names of the languages besides English (the source language).
LOCALES = ["id", "ko", "zh_Hant"]
# What `makemessages` reads: the packages of abmcrm's apps (and the reference project's
# templates), not the tests, benchmarks or docs.
SOURCES = sorted({name.split(".")[0] for name in settings.INSTALLED_APPS
                  if (ROOT / name.split(".")[0]).is_dir()})


def _catalogue(locale):
    return polib.pofile(str(LOCALE_DIR / locale / "LC_MESSAGES" / "django.po"))


def _key(entry):
    return (entry.msgctxt, entry.msgid, entry.msgid_plural)


def _describe(keys):
    return "\n".join(f"  {ctx + ': ' if ctx else ''}{msgid!r}" for ctx, msgid, _ in sorted(
        keys, key=lambda key: (key[1], key[0] or "")))


def test_every_language_of_the_settings_has_a_catalogue():
    codes = {code for code, _name in settings.LANGUAGES} - {"en"}
    from django.utils.translation import to_locale

    assert {to_locale(code) for code in codes} == set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete(locale):
    catalogue = _catalogue(locale)
    untranslated = [_key(e) for e in catalogue.untranslated_entries()]
    fuzzy = [_key(e) for e in catalogue.fuzzy_entries()]
    assert not untranslated, f"{locale}: untranslated entries:\n{_describe(untranslated)}"
    assert not fuzzy, f"{locale}: fuzzy entries (check and unmark them):\n{_describe(fuzzy)}"
    assert not catalogue.metadata_is_fuzzy, f"{locale}: the catalogue's header is fuzzy"


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches(locale):
    """The .mo files are committed (an installed wheel and a fresh clone need them):
    they must say what the .po files say."""
    path = LOCALE_DIR / locale / "LC_MESSAGES"
    assert (path / "django.mo").exists(), f"{locale}: run `make compilemessages`"

    def texts(catalogue):
        return {_key(e): e.msgstr or {int(k): v for k, v in e.msgstr_plural.items()}
                for e in catalogue if e.msgid and not e.obsolete}

    compiled = texts(polib.mofile(str(path / "django.mo")))
    source = texts(_catalogue(locale))
    assert compiled == source, f"{locale}: django.mo is stale: run `make compilemessages`"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The strings `makemessages` finds in the code today (one fresh catalogue)."""
    if not shutil.which("xgettext"):
        if os.environ.get("ABMCRM_REQUIRE_GETTEXT"):
            pytest.fail("GNU gettext is not installed (apt-get install gettext)")
        pytest.skip("GNU gettext (xgettext) is not installed")
    work = tmp_path_factory.mktemp("messages")
    for name in SOURCES:
        shutil.copytree(ROOT / name, work / name,
                        ignore=shutil.ignore_patterns("locale", "__pycache__", "static"))
    (work / "locale").mkdir()
    cwd = os.getcwd()
    os.chdir(work)
    try:
        # LOCALE_PATHS empty: makemessages writes into ./locale of the copy, never into the
        # repository's catalogues.
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(settings, "LOCALE_PATHS", [])
            call_command("makemessages", locale=["ko"], verbosity=0, no_location=True,
                         no_obsolete=True)
    finally:
        os.chdir(cwd)
    return polib.pofile(str(work / "locale" / "ko" / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("locale", LOCALES)
def test_makemessages_finds_no_new_string(extracted, locale):
    have = {_key(e) for e in _catalogue(locale)}
    new = {_key(e) for e in extracted} - have
    assert not new, (f"{locale}: strings in the code that the catalogue lacks (run `make "
                     f"messages` and translate them):\n{_describe(new)}")


def test_catalogues_hold_no_string_the_code_dropped(extracted):
    found = {_key(e) for e in extracted}
    for locale in LOCALES:
        stale = {_key(e) for e in _catalogue(locale) if not e.obsolete} - found
        assert not stale, (f"{locale}: entries no longer in the code (run `make messages`):"
                           f"\n{_describe(stale)}")
