"""Every page in every language: no English of ours left on it, no word in a template unmarked.

The page walk renders a representative page of each kind, as the kind of user who sees it, and
looks for source text from our catalog whose translation exists but was not used: a string that
is marked for translation but reaches the page untranslated (formatted too early, say), or one
that is hard-coded with the same wording as a marked one. Strings of Flask-Security and
Flask-Admin come from their own catalogs and are not ours to check.

The template check reads our templates as Jinja sees them and finds words written straight
into the HTML instead of through ``_()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import jinja2.nodes
import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, gettext

from app.audit import recording as audit
from app.extensions import db
from tests.support.browser import Browser
from tests.support.factories import make_appointment, make_user

APP_DIR = Path(__file__).resolve().parents[2] / "app"
LANGUAGES = ("es", "fr", "de")

# A fixed week, so that every run renders the same calendar pages.
MONDAY = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)

# --- What a page says -------------------------------------------------------------------------

# Attributes that a browser shows or reads out (tooltips, placeholders, labels, image text),
# and the data attributes whose text app.js shows in confirm() and alert() boxes.
SPOKEN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-placeholder",
                     "data-confirm", "data-error")
BUTTON_INPUTS = ("submit", "button", "reset")
# Script and styles are no text; <code> shows data verbatim (the source text in the translation
# console) and <textarea> holds what was typed into it.
UNSPOKEN_ELEMENTS = ("script", "style", "code", "textarea")


class PageText(HTMLParser):
    """Collect the texts of a page a person reads: text between tags, labelling attributes,
    the values of input buttons; entities decoded (the parser does it) and whitespace collapsed,
    as a browser shows them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.language: str | None = None
        self._unspoken_depth = 0

    def add(self, text: str | None) -> None:
        text = " ".join((text or "").split())
        if text:
            self.texts.append(text)

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.language = attributes.get("lang")
        if tag in UNSPOKEN_ELEMENTS:
            self._unspoken_depth += 1
        if self._unspoken_depth:
            return
        for name in SPOKEN_ATTRIBUTES:
            self.add(attributes.get(name))
        if tag == "input" and (attributes.get("type") or "").lower() in BUTTON_INPUTS:
            self.add(attributes.get("value"))

    def handle_startendtag(self, tag, attrs) -> None:
        self.handle_starttag(tag, attrs)
        if tag in UNSPOKEN_ELEMENTS:
            self._unspoken_depth -= 1

    def handle_endtag(self, tag) -> None:
        if tag in UNSPOKEN_ELEMENTS and self._unspoken_depth:
            self._unspoken_depth -= 1

    def handle_data(self, data) -> None:
        if not self._unspoken_depth:
            self.add(data)


def page_text(markup: str) -> PageText:
    parser = PageText()
    parser.feed(markup)
    parser.close()
    return parser


# --- Our catalog ------------------------------------------------------------------------------

# %(name)s, %(num)d, %s, %d ... and %% for a percent sign.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[a-zA-Z%]")
LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Source:
    """One English source text, as a pattern for the texts it becomes once filled in."""

    pattern: re.Pattern
    literal_length: int  # how much of it is fixed text: the longest match is the likeliest
    translated: bool


def source_of(text: str, translated: bool) -> Source:
    pattern, position = [], 0
    for match in PLACEHOLDER.finditer(text):
        pattern += [re.escape(text[position:match.start()]), "%" if match[0] == "%%" else ".+?"]
        position = match.end()
    pattern.append(re.escape(text[position:]))
    return Source(re.compile("".join(pattern)), len(PLACEHOLDER.sub("", text)), translated)


class CatalogSources:
    """Tell whether a text on a page is the English of a string our catalog translates.

    Every source text of the template (``messages.pot``) and of the language's catalog is
    known. One that is translated, with a translation that differs from it, must not show on a
    page. An entry that is empty or fuzzy is not translated yet (translators are at work;
    ``flask translate check`` reports those) and a translation that is the same as its source
    ("Agenda") cannot be told apart on the page: their texts are let through. A text that fits
    several sources (with placeholders) is judged by the most specific one.
    """

    def __init__(self, language: str, directory: Path) -> None:
        translated: dict[str, bool] = {}
        for path in (directory / "messages.pot",
                     directory / language / "LC_MESSAGES" / "messages.po"):
            with path.open("rb") as f:
                catalog = read_po(f, locale=language)
            for message in catalog:
                if not message.id:
                    continue
                sources = message.id if message.pluralizable else (message.id,)
                translations = message.string if message.pluralizable else (message.string,)
                done = not message.fuzzy and all(translations)
                for text in sources:
                    text = " ".join(text.split())
                    if LETTER.search(PLACEHOLDER.sub("", text)):
                        translated[text] = done and text not in translations
        self.exact = {text: done for text, done in translated.items()
                      if not PLACEHOLDER.search(text)}
        self.with_placeholders = [source_of(text, done) for text, done in translated.items()
                                  if PLACEHOLDER.search(text)]
        self.any_with_placeholders = re.compile(
            "|".join(f"(?:{source.pattern.pattern})" for source in self.with_placeholders)
        )

    def __contains__(self, text: str) -> bool:
        if text in self.exact:
            return self.exact[text]
        if not self.any_with_placeholders.fullmatch(text):
            return False
        fitting = [s for s in self.with_placeholders if s.pattern.fullmatch(text)]
        return max(fitting, key=lambda source: source.literal_length).translated


# --- The pages --------------------------------------------------------------------------------

ICS_FILE = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//sched tests//EN
BEGIN:VEVENT
UID:imported-1@example.com
DTSTART:20260506T100000Z
DTEND:20260506T110000Z
SUMMARY:Piano lesson
END:VEVENT
BEGIN:VEVENT
UID:imported-2@example.com
DTSTART:20260507T100000Z
DTEND:20260507T090000Z
SUMMARY:Backwards lesson
END:VEVENT
END:VCALENDAR
"""
BROKEN_CATALOG = b"this is not a .po file\n"


@pytest.fixture
def app_overrides(writable_translations) -> dict:
    # A copy of the catalogs: the pages and the check read the same files, whatever translators
    # save meanwhile, and the upload page can be shown without touching the real ones.
    return {"BABEL_TRANSLATION_DIRECTORIES": str(writable_translations)}


def logged_in(app, email: str) -> Browser:
    browser = Browser(app.test_client())
    browser.login(email)
    return browser


def public_pages(app, language: str):
    visitor = Browser(app.test_client())
    accept = {"Accept-Language": language}
    yield "home", visitor.get("/", headers=accept), 200
    yield "login", visitor.get("/login", headers=accept), 200
    yield "register", visitor.get("/register", headers=accept), 200
    yield "forgotten password", visitor.get("/reset", headers=accept), 200
    yield "missing page", visitor.get("/no-such-page", headers=accept), 404


def user_pages(app, owner, meeting):
    user = logged_in(app, owner.email)
    detail = f"/appointments/{meeting.id}/"
    clash = {"title": "Clash", "start": "2026-05-04T11:30", "end": "2026-05-04T12:00"}
    yield "appointment list", user.get("/appointments/"), 200
    yield "new appointment", user.get("/appointments/create/"), 200
    yield "new appointment, with errors", user.submit(
        "/appointments/create/", {"title": "", "start": "", "end": "2026-05-04T08:00"}
    ), 400
    yield "new appointment, overlapping", user.submit("/appointments/create/", clash), 200
    yield "appointment, just created", user.submit(
        "/appointments/create/", {**clash, "confirm_overlap": "y"}, follow_redirects=True
    ), 200
    yield "appointment", user.get(detail), 200
    yield "edit appointment", user.get(f"{detail}edit/"), 200
    yield "month", user.get("/calendar/month/2026/5/"), 200
    yield "week", user.get("/calendar/week/2026/5/4/"), 200
    yield "day", user.get("/calendar/day/2026/5/6/"), 200
    yield "agenda", user.get("/calendar/agenda/?start=2026-05-01"), 200
    yield "past agenda", user.get("/calendar/agenda/?start=2026-05-01&past=1"), 200
    yield "export error", user.get("/calendar/export.ics?from=2026-05-01"), 400
    yield "import", user.get("/calendar/import/"), 200
    yield "import preview", user.submit(
        "/calendar/import/", {"file": (BytesIO(ICS_FILE), "lessons.ics")}
    ), 200
    yield "profile", user.get("/account/"), 200
    yield "new feed address", user.submit("/account/calendar-token", {}, form_url="/account/"), 200
    yield "profile with a feed address", user.get("/account/"), 200
    yield "change password", user.get("/change"), 200


def staff_pages(app, staff_member, owner, meeting):
    staff = logged_in(app, staff_member.email)
    yield "admin dashboard", staff.get("/admin/"), 200
    yield "admin appointments", staff.get("/admin/appointments/"), 200
    yield "admin appointment", staff.get(f"/admin/appointments/details/?id={meeting.id}"), 200
    yield "admin appointment edit", staff.get(f"/admin/appointments/edit/?id={meeting.id}"), 200
    yield "admin users", staff.get("/admin/users/"), 200
    yield "admin user", staff.get(f"/admin/users/details/?id={owner.id}"), 200
    yield "admin audit log", staff.get("/admin/audit/"), 200


def admin_pages(app, administrator, owner):
    admin = logged_in(app, administrator.email)
    yield "admin user edit", admin.get(f"/admin/users/edit/?id={owner.id}"), 200
    yield "admin new user", admin.get("/admin/users/new/"), 200
    yield "admin roles", admin.get("/admin/roles/"), 200


def translator_pages(app, translator_user):
    translator = logged_in(app, translator_user.email)
    yield "translations", translator.get("/admin/translations/"), 200
    yield "French entries", translator.get("/admin/translations/fr/"), 200
    plurals = translator.get("/admin/translations/fr/", query_string={"q": "%(num)d"})
    key = re.search(r'data-key="([^"]+)"', plurals.get_data(as_text=True))[1]
    yield "French plural entry", translator.get(f"/admin/translations/fr/{key}/"), 200
    yield "French upload errors", translator.submit(
        "/admin/translations/fr/upload",
        {"po_file": (BytesIO(BROKEN_CATALOG), "fr.po")},
        form_url="/admin/translations/fr/",
    ), 400


def walk(app, language: str):
    """Yield (page, response, expected status) for each page, as the user who sees it."""
    yield from public_pages(app, language)

    owner = make_user(f"owner-{language}@example.com", full_name="Olive Owner", locale=language,
                      timezone="Europe/Berlin")
    meeting = make_appointment(owner, title="Budget meeting", start=MONDAY, location="Room 4",
                               description="Bring the figures.\nAnd coffee.")
    make_appointment(owner, title="Conference", start=MONDAY.replace(day=5),
                     end=MONDAY.replace(day=7), all_day=True)
    make_appointment(owner, title="Night train", start=MONDAY.replace(day=6, hour=20),
                     end=MONDAY.replace(day=7, hour=6))
    yield from user_pages(app, owner, meeting)

    db.session.refresh(meeting)
    audit.record_change(meeting, created=True)  # an audit entry with a table of changes
    db.session.commit()
    staff_member = make_user(f"staff-{language}@example.com", roles=("staff",), locale=language)
    yield from staff_pages(app, staff_member, owner, meeting)

    administrator = make_user(f"admin-{language}@example.com", roles=("admin",), locale=language)
    yield from admin_pages(app, administrator, owner)

    translator = make_user(
        f"translator-{language}@example.com", roles=("translator",), locale=language
    )
    yield from translator_pages(app, translator)


def translated_sources(app, language: str) -> CatalogSources:
    return CatalogSources(language, Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_is_in_the_language(app, language):
    sources = translated_sources(app, language)
    problems = []
    for page, response, status in walk(app, language):
        if response.status_code != status:
            problems.append((page, f"answered {response.status_code}, expected {status}"))
            continue
        text = page_text(response.get_data(as_text=True))
        if text.language != language:
            problems.append((page, f"<html lang={text.language!r}>"))
        problems += sorted({(page, node) for node in text.texts if node in sources})
    assert not problems, "Not in the page's language:\n" + "\n".join(
        f"  {page}: {problem!r}" for page, problem in problems
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_json_errors_are_in_the_language(app, client, language):
    sources = translated_sources(app, language)
    response = client.get(
        "/no-such-page", headers={"Accept": "application/json", "Accept-Language": language}
    )
    error = response.get_json()["error"]
    assert response.status_code == 404
    assert error["title"] not in sources
    assert error["message"] not in sources


def test_dashboard_names_the_kind_of_object_in_the_language(app, browser):
    staff = make_user("staff@example.com", roles=("staff",), locale="de")
    browser.login(staff.email)  # logged in the audit log: a User
    with app.test_request_context(), force_locale("de"):
        user = gettext("User")
    html = browser.get("/admin/").get_data(as_text=True)
    assert f"<td>{user} staff@example.com</td>" in html


# --- Our templates ----------------------------------------------------------------------------

# Stands for whatever Jinja puts between two pieces of literal text: an expression, a tag, a block.
FILLED_IN = "\x00"
COMMENT = re.compile(r"<!--.*?-->", re.S)
DECLARATION = re.compile(r"<![^<>]*>")
TAG = re.compile(r"</?[A-Za-z][^<>]*>")
ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|\w+);")
# Markup that a macro writes outside any tag, for a tag or URL elsewhere to take in:
# id="...", nonce="..." (security/_macros.html), ?next=... (a query string).
ATTRIBUTE_FRAGMENT = re.compile(r"""[\w:-]+=(?:"[^"<>]*"|'[^'<>]*')|\?[\w-]+=""")
WORD = re.compile(r"[^\W\d_][\w'’-]*")
# What is left that is no word of any language, and so is never translated.
NOT_WORDS = {
    "sched",  # the brand
    # CSS classes that a template passes to its parent's class attribute in a block
    # (block content_class in profile.html and security/base.html).
    "account-page",
    "mx-auto",
}


def our_templates() -> list[Path]:
    """Our templates: every file under a templates folder of the app, none of the libraries'."""
    return sorted(
        path for path in APP_DIR.glob("**/templates/**/*") if path.suffix in (".html", ".txt")
    )


def literal_markup(app, path: Path) -> str:
    """The literal text of a template, in order, with FILLED_IN where Jinja adds something.

    Jinja's own parse gives the pieces; joining them again keeps a tag whole when an
    expression or an ``{% if %}`` sits inside it.
    """
    tree = app.jinja_env.parse(path.read_text(encoding="utf-8"))
    return FILLED_IN.join(node.data for node in tree.find_all(jinja2.nodes.TemplateData))


def words_in(text: str) -> list[str]:
    return [word for word in WORD.findall(text) if word not in NOT_WORDS]


def unmarked_text(markup: str) -> list[str]:
    """Text of the markup that a person would read and that is written in, not translated."""
    markup = DECLARATION.sub(FILLED_IN, COMMENT.sub(FILLED_IN, markup))
    found = []
    for tag in TAG.findall(markup):
        attributes = {name.lower(): double or single
                      for name, double, single in ATTRIBUTE.findall(tag)}
        spoken = [name for name in SPOKEN_ATTRIBUTES if name in attributes]
        if attributes.get("type", "").lower() in BUTTON_INPUTS and tag.lower().startswith("<input"):
            spoken.append("value")
        found += [f'{name}="{attributes[name]}"' for name in spoken
                  if words_in(ENTITY.sub(" ", attributes.get(name, "")))]
    text = ENTITY.sub(" ", ATTRIBUTE_FRAGMENT.sub(FILLED_IN, TAG.sub(FILLED_IN, markup)))
    found += [" ".join(piece.split()) for piece in text.split(FILLED_IN) if words_in(piece)]
    return found


def test_template_text_is_marked_for_translation(app):
    templates = our_templates()
    assert templates, "no templates found"
    unmarked = [
        (str(path.relative_to(APP_DIR)), text)
        for path in templates
        for text in unmarked_text(literal_markup(app, path))
    ]
    assert not unmarked, "Text written into a template instead of through _():\n" + "\n".join(
        f"  {name}: {text!r}" for name, text in unmarked
    )
