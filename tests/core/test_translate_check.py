"""`flask translate check`: the shipped catalogs are complete and safe, or the command fails."""

from __future__ import annotations

import pytest

from app.core import catalogs

FOOTER = "sched: appointments, kept simply."
PLURAL = "%(num)d appointment added."
NAV_BREAKOUT = 'Hauptnavigation" data-create-url="http://127.0.0.1:9/phish'


@pytest.fixture
def app_overrides(writable_translations):
    return {"BABEL_TRANSLATION_DIRECTORIES": str(writable_translations)}


def check(app):
    return app.test_cli_runner().invoke(args=["translate", "check"])


def test_the_shipped_catalogs_pass(app):
    result = check(app)
    assert result.exit_code == 0, result.output
    assert "All catalogs are complete" in result.output


def change(directory, language, edit):
    with catalogs.editing(language, directory) as catalog:
        edit(catalog)


@pytest.mark.parametrize("language, edit, complaint", [
    ("fr", lambda c: setattr(c[FOOTER], "string", ""), "fr/LC_MESSAGES/messages.po"),
    ("de", lambda c: c[FOOTER].flags.add("fuzzy"), "fuzzy 'sched: appointments, kept simply.'"),
    ("es", lambda c: setattr(c["Delete the appointment “%(title)s”?"], "string", "¿Borrar %(titulo)s?"),
     "Placeholders missing: %(title)s"),
    ("es", lambda c: setattr(c[FOOTER], "string", "<script>alert(1)</script>"), "HTML not in the original"),
    ("fr", lambda c: c.delete(FOOTER), "missing 'sched: appointments, kept simply.'"),
    # A translation used in an attribute (the navigation's aria-label) that would end it.
    ("de", lambda c: setattr(c["Main navigation"], "string", NAV_BREAKOUT), "not \""),
    # Every plural form is checked, the singular one too.
    ("de", lambda c: setattr(c[PLURAL], "string", ('%(num)d Termin" hinzugefügt.', "%(num)d Termine.")),
     "not \""),
    ("fr", lambda c: setattr(c[PLURAL], "string", ("%(num)d ajouté.", "%(num)d <b>ajoutés</b>.")),
     "HTML not in the original: </b> <b>"),
    ("es", lambda c: setattr(c[FOOTER], "string", "Citas &quot;simples&quot;"), "not HTML codes: &quot;"),
    ("es", lambda c: setattr(c[FOOTER], "string", "Citas al 100 %"), "percent sign"),
])
def test_a_broken_catalog_fails_the_check(app, writable_translations, language, edit, complaint):
    change(writable_translations, language, edit)
    result = check(app)
    assert result.exit_code == 1
    assert complaint in result.output
    assert f"{language}/LC_MESSAGES/messages.po" in result.output


def test_a_string_missing_from_the_template_fails_the_check(app, writable_translations):
    pot = writable_translations / "messages.pot"
    template = catalogs.read_catalog(pot)
    template.delete(FOOTER)
    pot.write_bytes(catalogs.po_bytes(template))
    result = check(app)
    assert result.exit_code == 1
    assert f"messages.pot: missing {FOOTER!r}" in result.output


def test_a_language_without_a_catalog_fails_the_check(app, writable_translations):
    catalogs.po_path("de", writable_translations).unlink()
    result = check(app)
    assert result.exit_code == 1
    assert "de/LC_MESSAGES/messages.po" in result.output
