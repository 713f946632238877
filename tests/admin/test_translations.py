"""The translation console: progress, entries, checked saves that go live, history, files."""

from __future__ import annotations

import html as html_lib
import re
import threading
import time

import pytest
from babel.messages.catalog import Message

from app.accounts.models import ADMIN_PANEL, translate_permission
from app.accounts.security import user_datastore
from app.admin.models import TranslationEdit
from app.core import catalogs
from app.extensions import db
from tests.support.factories import make_user

FOOTER = "sched: appointments, kept simply."
PLURAL = "%(num)d appointment added."
CONSOLE = "/admin/translations/"


@pytest.fixture
def app_overrides(writable_translations):
    return {"BABEL_TRANSLATION_DIRECTORIES": str(writable_translations)}


@pytest.fixture
def translator(app, browser):
    make_user("translator@example.com", roles=("translator",), locale="en")
    browser.login("translator@example.com")
    return browser


def read(directory, language="fr"):
    return catalogs.read_catalog(catalogs.po_path(language, directory), language)


def key_of(directory, msgid, language="fr"):
    message = read(directory, language).get(msgid)
    assert message is not None, msgid
    return catalogs.message_key(message)


def entry_url(directory, msgid, language="fr"):
    return f"{CONSOLE}{language}/{key_of(directory, msgid, language)}/"


def save(browser, directory, msgid, *forms, language="fr", **extra):
    url = entry_url(directory, msgid, language)
    page = browser.get(url).get_data(as_text=True)
    previous = re.search(r'name="previous" type="hidden" value="([^"]*)"', page).group(1)
    data = {f"translation-{i}": text for i, text in enumerate(forms)}
    return browser.submit(url, {"previous": previous, **data, **extra}, form_url=url)


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def french_page(client) -> str:
    return text_of(client.get("/login", headers={"Accept-Language": "fr"}))


def test_progress_per_language(translator, writable_translations):
    def counts():
        page = text_of(translator.get(CONSOLE))
        row = re.search(r'data-language="de">(.*?)</tr>', page, re.S).group(1)
        return [int(n) for n in re.findall(r">(\d+)</a>", row)]

    translated, fuzzy, untranslated = counts()
    assert translated + fuzzy + untranslated == len(catalogs.entries(read(writable_translations, "de")))
    with catalogs.editing("de", writable_translations) as catalog:
        assert catalog[FOOTER].string and catalog["Calendar"].string and not catalog["Calendar"].fuzzy
        catalog[FOOTER].string = ""
        catalog["Calendar"].flags.add("fuzzy")
    assert counts() == [translated - 2, fuzzy + 1, untranslated + 1]
    page = text_of(translator.get(CONSOLE))
    for name in ("English", "Español", "Français", "Deutsch"):
        assert name in page


def test_entries_filter_search_and_show_sources_and_plural_forms(translator, writable_translations):
    with catalogs.editing("fr", writable_translations) as catalog:
        catalog[FOOTER].string = ""
    untranslated = text_of(translator.get(f"{CONSOLE}fr/?status=untranslated&q=simply"))
    assert re.findall(r'class="mb-1 source"><code class="text-body">([^<]*)<', untranslated) == [FOOTER]
    assert FOOTER not in text_of(translator.get(f"{CONSOLE}fr/?status=translated&q=simply"))
    assert "app/templates/base.html" in untranslated  # where the string comes from

    found = text_of(translator.get(f"{CONSOLE}fr/?q=appointment+added"))
    assert "1 entry" in found
    assert "Form for 0, 1" in found and "Form for 2, 3, 4, …" in found  # French plural rule
    assert len(re.findall(r'name="translation-\d"', found)) == 2

    # The search also looks in the translations.
    french = read(writable_translations).get("Calendar").string
    assert "Calendar" in text_of(translator.get(f"{CONSOLE}fr/?q={french}&status=translated"))
    everything = text_of(translator.get(f"{CONSOLE}fr/?status=all"))
    assert everything.count('class="card mb-3 entry"') == 25  # a page
    assert 'page=1"' in everything


def test_saving_goes_live_at_once_and_keeps_history(app, translator, writable_translations):
    before = read(writable_translations).get(FOOTER).string
    assert before in french_page(app.test_client())

    response = save(translator, writable_translations, FOOTER, "Vos rendez-vous, tout simplement.")
    assert response.status_code == 302
    assert read(writable_translations).get(FOOTER).string == "Vos rendez-vous, tout simplement."
    assert "Vos rendez-vous, tout simplement." in french_page(app.test_client())

    (edit,) = db.session.query(TranslationEdit).all()
    assert (edit.language, edit.old, edit.new, edit.actor_email) == (
        "fr", [before], ["Vos rendez-vous, tout simplement."], "translator@example.com",
    )
    history = text_of(translator.get(entry_url(writable_translations, FOOTER)))
    assert before in history and "translator@example.com" in history

    revert = re.search(r'action="([^"]+/revert/\d+)"', history).group(1)
    assert translator.submit(revert, {}, form_url=entry_url(writable_translations, FOOTER)).status_code == 302
    assert read(writable_translations).get(FOOTER).string == before
    assert before in french_page(app.test_client())
    assert db.session.query(TranslationEdit).count() == 2


def test_plural_forms_are_saved_as_plurals(app, translator, writable_translations):
    response = save(translator, writable_translations, PLURAL,
                    "%(num)d rendez-vous ajouté !", "%(num)d rendez-vous ajoutés !")
    assert response.status_code == 302
    assert read(writable_translations).get(PLURAL).string == (
        "%(num)d rendez-vous ajouté !", "%(num)d rendez-vous ajoutés !",
    )
    half = save(translator, writable_translations, PLURAL, "%(num)d rendez-vous ajouté", "")
    assert half.status_code == 400
    assert "Fill in every plural form" in text_of(half)


@pytest.mark.parametrize("translation, reason", [
    ("Impossible de supprimer %(nom)s", "Placeholders missing: %(title)s"),
    ("Supprimer <script>alert(1)</script> %(title)s ?", "HTML not in the original"),
    ("Supprimer <img src=x onerror=alert(1)> %(title)s ?", "HTML not in the original"),
    ("Supprimer %(title)s %s ?", "Placeholders not in the original: %s"),
    # This one is shown in an attribute (the delete button's data-confirm).
    ('Supprimer %(title)s ?" data-redirect="http://127.0.0.1:9/', 'quotation marks (“ ” „ « »), not "'),
    ("Supprimer %(title)s ?` autofocus onfocus=`alert(1)", "not `"),
    ("Supprimer &lt;b&gt; %(title)s ?", "not HTML codes: &gt; &lt;"),
    ("Supprimer %(title)s à 100 % ?", "percent sign"),
])
def test_a_wrong_translation_is_refused_with_the_reason_and_nothing_changes(
    translator, writable_translations, translation, reason
):
    msgid = "Delete the appointment “%(title)s”?"
    po, mo = catalogs.po_path("fr", writable_translations), catalogs.mo_path("fr", writable_translations)
    po_before, mo_before = po.read_bytes(), mo.read_bytes()
    response = save(translator, writable_translations, msgid, translation)
    assert response.status_code == 400
    page = text_of(response)
    assert reason in page
    assert translation in page  # the translator's text is kept in the form to correct it
    assert (po.read_bytes(), mo.read_bytes()) == (po_before, mo_before)
    assert db.session.query(TranslationEdit).count() == 0


def test_the_pen_test_translation_of_the_navigation_is_refused(app, browser, writable_translations):
    """The probe: a German aria-label that would carry attributes onto every German page."""
    make_user("translator@example.com", roles=("translator",), locale="en")
    browser.login("translator@example.com")
    breakout = 'Hauptnavigation" data-create-url="http://127.0.0.1:9/phish'
    po = catalogs.po_path("de", writable_translations)
    before = po.read_bytes()
    response = save(browser, writable_translations, "Main navigation", breakout, language="de")
    assert response.status_code == 400
    assert 'not "' in text_of(response)
    assert po.read_bytes() == before
    german = app.test_client().get("/login", headers={"Accept-Language": "de"})
    assert "data-create-url" not in german.get_data(as_text=True)


def test_a_wrong_plural_form_is_refused(translator, writable_translations):
    po = catalogs.po_path("fr", writable_translations)
    before = po.read_bytes()
    response = save(translator, writable_translations, PLURAL,
                    "%(num)d rendez-vous ajouté", '%(num)d rendez-vous" ajoutés')
    assert response.status_code == 400
    assert 'not "' in text_of(response)
    assert po.read_bytes() == before


def test_an_edit_made_meanwhile_is_not_overwritten(translator, writable_translations):
    url = entry_url(writable_translations, FOOTER)
    page = translator.get(url).get_data(as_text=True)
    previous = re.search(r'name="previous" type="hidden" value="([^"]*)"', page).group(1)
    with catalogs.editing("fr", writable_translations) as catalog:
        catalog[FOOTER].string = "Version de l'autre traducteur."
    response = translator.submit(url, {"previous": previous, "translation-0": "La mienne."}, form_url=url)
    assert response.status_code == 409
    assert "Version de l&#39;autre traducteur." in response.get_data(as_text=True)
    assert read(writable_translations).get(FOOTER).string == "Version de l'autre traducteur."


def test_two_saves_at_once_both_stay(app, writable_translations):
    """Each save reads, changes and writes the file under a lock: neither loses the other."""
    started = threading.Barrier(2)

    def change(msgid: str, text: str) -> None:
        with app.app_context():
            started.wait()
            with catalogs.editing("fr", writable_translations) as catalog:
                time.sleep(0.2)  # both have read the file by now, were it not for the lock
                catalog[msgid].string = text

    threads = [threading.Thread(target=change, args=args) for args in
               [(FOOTER, "Un."), ("Calendar", "Deux.")]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    catalog = read(writable_translations)
    assert (catalog.get(FOOTER).string, catalog.get("Calendar").string) == ("Un.", "Deux.")
    compiled = catalogs.mo_path("fr", writable_translations).read_bytes()
    assert b"Un." in compiled and b"Deux." in compiled


def test_a_failed_write_leaves_the_old_file_whole(app, writable_translations, monkeypatch):
    po = catalogs.po_path("fr", writable_translations)
    before = po.read_bytes()

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(catalogs.os, "replace", disk_full)
    with pytest.raises(OSError):
        with catalogs.editing("fr", writable_translations) as catalog:
            catalog[FOOTER].string = "Jamais écrit."
    assert po.read_bytes() == before
    assert [p.name for p in po.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_download_and_upload_the_po_file(app, translator, writable_translations):
    response = translator.get(f"{CONSOLE}fr/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=sched-fr.po"
    data = response.get_data()
    assert b'msgid "sched: appointments, kept simply."' in data

    current = read(writable_translations).get(FOOTER).string.encode()
    edited = data.replace(current, "Téléversé.".encode())
    response = upload(translator, edited)
    assert response.status_code == 302
    assert read(writable_translations).get(FOOTER).string == "Téléversé."
    assert "Téléversé." in french_page(app.test_client())
    assert [e.how for e in db.session.query(TranslationEdit)] == ["upload"]


@pytest.mark.parametrize("change, reason", [
    (lambda data, current: data.replace(b'msgid "sched', b'msgid sched'), "not a valid .po catalog"),
    (lambda data, current: data.replace(b"kept simply.\"", b"kept simply."), "line"),
    (lambda data, current: data[: data.index(b"msgid \"", len(data) // 2) + 9], "not a valid .po catalog"),
    (lambda data, current: b"\xff\xfe" + data, "not UTF-8"),
    (lambda data, current: data.replace(current, b"%(rien)s"), "Placeholders not in the original"),
    (lambda data, current: data.replace(current, b"<b>Gras</b>"), "HTML not in the original"),
    (lambda data, current: data.replace(current, b'Gras\\" onclick=\\"x'), 'not "'),
    (lambda data, current: data.replace(
        "msgstr[1] \"%(num)d rendez-vous ajoutés.\"".encode(),
        "msgstr[1] \"%(num)d <i>rendez-vous</i> ajoutés.\"".encode()), "HTML not in the original: </i> <i>"),
    (lambda data, current: data.replace(b"Language: fr", b"Language: de"), "another language"),
])
def test_a_broken_upload_changes_nothing(translator, writable_translations, change, reason):
    po = catalogs.po_path("fr", writable_translations)
    before = po.read_bytes()
    current = read(writable_translations).get(FOOTER).string.encode()
    response = upload(translator, change(before, current))
    assert response.status_code == 400
    assert reason in text_of(response)
    assert po.read_bytes() == before
    assert db.session.query(TranslationEdit).count() == 0


def upload(browser, data: bytes):
    import io

    token = browser.token(f"{CONSOLE}fr/")
    return browser.client.post(
        f"{CONSOLE}fr/upload",
        data={"csrf_token": token, "po_file": (io.BytesIO(data), "fr.po")},
        content_type="multipart/form-data",
    )


def test_translators_can_be_limited_to_some_languages(app, browser, writable_translations):
    role = user_datastore.create_role(
        name="translator-fr", permissions=[ADMIN_PANEL, translate_permission("fr")]
    )
    make_user("french@example.com", roles=(role.name,))
    browser.login("french@example.com")
    index = text_of(browser.get(CONSOLE))
    assert "Français" in index and 'data-language="de"' not in index
    assert browser.get(f"{CONSOLE}fr/").status_code == 200
    assert browser.get(f"{CONSOLE}de/").status_code == 403
    assert browser.get(f"{CONSOLE}de/download").status_code == 403
    assert browser.get(f"{CONSOLE}xx/").status_code == 404
    assert browser.get("/admin/appointments/").status_code == 403


def test_plain_users_and_staff_cannot_translate(app, browser, writable_translations):
    make_user("staff@example.com", roles=("staff",))
    browser.login("staff@example.com")
    assert browser.get(CONSOLE).status_code == 403
    url = entry_url(writable_translations, FOOTER)
    assert browser.submit(url, {"translation-0": "Pirate."}, form_url="/admin/").status_code == 403
    assert read(writable_translations).get(FOOTER).string != "Pirate."


def test_a_message_keeps_its_key_whatever_its_translation():
    assert catalogs.message_key(Message("Hello", "Bonjour")) == catalogs.message_key(Message("Hello", ""))
    assert catalogs.message_key(Message("Hello")) != catalogs.message_key(Message("Hello", context="menu"))
