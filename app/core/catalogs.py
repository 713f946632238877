"""The message catalogs on disk: read, checked, saved safely, compiled and reloaded live.

Used by ``flask translate`` and by the translation console in the admin panel. A catalog is
``translations/<lang>/LC_MESSAGES/messages.po`` with its compiled ``messages.mo`` beside it.

Saving takes an exclusive lock on the language (so two translators saving at once both keep
their change), writes the ``.po`` and ``.mo`` to temporary files and renames them into place (so
a reader never sees half a file), and every worker notices the new ``.mo`` on its next request.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from babel.messages.catalog import PYTHON_FORMAT, Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask, current_app
from flask_babel import Domain
from flask_babel import gettext as _

from app.core.gettext import TAG, formatted, source_tags
from app.core.validators import LINE_BREAKS_AND_TABS, has_control_characters

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"  # the language the strings are written in
PO_WIDTH = 76  # pybabel's line width, so that files saved here and by pybabel do not churn

# %(name)s, %s, %d ... and %% as Babel reads them (its python-format checker's own pattern),
# and {name} / {0} as in str.format.
PERCENT_PLACEHOLDER = PYTHON_FORMAT
PERCENT_TYPE = 3  # the pattern's group holding the conversion: "s", "d" ... or "%"
BRACE_PLACEHOLDER = re.compile(r"\{(?P<name>[A-Za-z_][\w.]*|\d*)(?:![rsa])?(?::[^{}]*)?\}")
# What a browser reads as the start of a tag, a comment or a declaration: "<" then a letter,
# "/", "!" or "?" ("a < b" is text).
MARKUP_START = re.compile(r"<[A-Za-z/!?]")
# A character reference (&amp; &#34; &#x22;), which a page would read as markup.
CHARACTER_REFERENCE = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9A-Fa-f]+);")
# Characters that end an attribute's value or start a script's string.
QUOTES = ('"', "`")
# The count that ngettext passes; a singular form may say "one" instead.
PLURAL_COUNT = "%(num)d"


class CatalogError(Exception):
    """A catalog file that cannot be read or a change that cannot be made; the text says why."""


# --- Placeholders and markup ------------------------------------------------------------------


def placeholders(text: str) -> Counter[str]:
    """The placeholders in ``text``, each as written (``%(name)s``, ``%s``, ``{name}``)."""
    found: Counter[str] = Counter()
    for match in PERCENT_PLACEHOLDER.finditer(text):
        if match.group(PERCENT_TYPE) != "%":
            found[match.group(0)] += 1
    for match in BRACE_PLACEHOLDER.finditer(text.replace("{{", "").replace("}}", "")):
        found[match.group(0)] += 1
    return found


def tags(text: str) -> set[str]:
    return source_tags(text)


def _has_stray_markup(translation: str, source: str) -> bool:
    """Markup that is not one of the source's own tags (a tag left open, a comment ...)."""
    allowed = tags(source)

    def keep_unknown(match: re.Match) -> str:
        return "" if " ".join(match.group(0).split()) in allowed else "<x>"

    remainder = TAG.sub(keep_unknown, translation)
    return bool(MARKUP_START.search(remainder))


def translation_problems(source: str, translation: str, *, plural_form: bool = False) -> list[str]:
    """Why this translation of ``source`` must not be used; empty when it is fine.

    Placeholders must be the same as the source's (a plural's singular form may leave out the
    count). A translator writes words, not markup: no tag, character reference, double quote or
    backtick the source lacks (they would end an attribute the text is put in), and no ``%``
    that is not one of the source's placeholders (every template formats the text with ``%``).
    Pages escape translations anyway (``app.core.gettext``); this keeps them readable as well.
    """
    problems = []
    if has_control_characters(translation, LINE_BREAKS_AND_TABS):
        problems.append(_("Remove the invisible control characters."))
    expected, got = placeholders(source), placeholders(translation)
    if plural_form:
        expected.pop(PLURAL_COUNT, None)
        got.pop(PLURAL_COUNT, None)
    if set(got) != set(expected) or _positional(got) != _positional(expected):
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        if missing:
            problems.append(_("Placeholders missing: %(names)s", names=", ".join(missing)))
        if extra:
            problems.append(
                _("Placeholders not in the original: %(names)s", names=", ".join(extra))
            )
        if not missing and not extra:
            problems.append(_("The placeholders must be used as often as in the original."))
    if _stray_percent_signs(translation) > _stray_percent_signs(source):
        problems.append(
            _(
                "A percent sign that is not one of the original's placeholders is written twice, "
                "as in %(example)s.",
                example="100 %%",
            )
        )
    new_tags = sorted(tags(translation) - tags(source))
    if new_tags:
        problems.append(_("HTML not in the original: %(tags)s", tags=" ".join(new_tags)))
    elif _has_stray_markup(translation, source):
        problems.append(_("HTML may only be used as in the original."))
    new_references = sorted(
        set(CHARACTER_REFERENCE.findall(translation)) - set(CHARACTER_REFERENCE.findall(source))
    )
    if new_references:
        problems.append(
            _(
                "Write the characters themselves, not HTML codes: %(codes)s",
                codes=" ".join(new_references),
            )
        )
    new_quotes = [quote for quote in QUOTES if quote in translation and quote not in source]
    if new_quotes:
        problems.append(
            _(
                "Use typographic quotation marks (“ ” „ « »), not %(quotes)s.",
                quotes=" ".join(new_quotes),
            )
        )
    return problems


def _stray_percent_signs(text: str) -> int:
    """The % signs that are neither a placeholder nor an escaped sign (%%)."""
    return PERCENT_PLACEHOLDER.sub("", text).count("%")


def _positional(found: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in found.items() if not k.startswith("%(") and k[1:2] != "{"})


# Babel types a message's id and string as a text or a sequence of texts alike; ``pluralizable``
# says which: (singular, plural) and one form per plural, or one text each.


def message_problems(message: Message) -> list[str]:
    """Problems of every form of a message's translation (empty forms are not checked)."""
    if message.pluralizable:
        singular, plural = cast(tuple[str, str], message.id)
        problems = []
        for index, form in enumerate(cast(Sequence[str], message.string)):
            if form:
                source = singular if index == 0 else plural
                # Languages whose first form is not only for 1 may still say the count there.
                problems += translation_problems(source, form, plural_form=index == 0)
        return list(dict.fromkeys(problems))
    if not message.string:
        return []
    return translation_problems(cast(str, message.id), cast(str, message.string))


# --- Entries ------------------------------------------------------------------------------------


def entry_id(message: Message) -> tuple[str, str | None]:
    """What identifies a message in a catalog: its (singular) source text and its context."""
    source = message.id[0] if message.pluralizable else message.id
    return cast(str, source), message.context


def message_key(message: Message) -> str:
    """A short stable name for a message, for URLs and the edit history."""
    singular, context = entry_id(message)
    raw = f"{context or ''}\x04{singular}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def forms(message: Message) -> list[str]:
    if message.pluralizable:
        return list(cast(Sequence[str], message.string))
    return [cast(str, message.string) or ""]


def is_translated(message: Message) -> bool:
    return all(forms(message))


def entries(catalog: Catalog) -> list[Message]:
    """The catalog's messages, without its header."""
    return [message for message in catalog if message.id]


@dataclass(frozen=True)
class Progress:
    translated: int
    fuzzy: int
    untranslated: int

    @property
    def total(self) -> int:
        return self.translated + self.fuzzy + self.untranslated

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0


def status(message: Message) -> str:
    """``translated``, ``fuzzy`` (needs review) or ``untranslated``."""
    if message.fuzzy:
        return "fuzzy"
    return "translated" if is_translated(message) else "untranslated"


def progress(catalog: Catalog) -> Progress:
    counts = Counter(status(message) for message in entries(catalog))
    return Progress(counts["translated"], counts["fuzzy"], counts["untranslated"])


# --- Files --------------------------------------------------------------------------------------


def translations_dir(app: Flask | None = None) -> Path:
    app = app or current_app
    return Path(app.config["BABEL_TRANSLATION_DIRECTORIES"].split(";")[0])


def po_path(language: str, directory: Path | None = None) -> Path:
    return (directory or translations_dir()) / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str, directory: Path | None = None) -> Path:
    return po_path(language, directory).with_suffix(".mo")


def read_catalog(path: Path, language: str | None = None) -> Catalog:
    try:
        with path.open("rb") as f:
            return read_po(f, locale=language, abort_invalid=True)
    except FileNotFoundError:
        raise CatalogError(_("There is no catalog for this language yet.")) from None
    except Exception as error:  # Babel raises PoFileError, ValueError, UnicodeDecodeError ...
        message = _("The file is not a valid .po catalog: %(error)s", error=error)
        raise CatalogError(message) from None


# Babel's reader skips or guesses at lines it cannot parse; an upload must have none.
PO_LINE = re.compile(
    r'\s*(?:#.*|(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+"(?:[^"\\]|\\.)*"'
    r'|"(?:[^"\\]|\\.)*")?\s*'
)


def parse_uploaded_catalog(data: bytes, language: str) -> Catalog:
    """Read a .po file a translator uploaded; CatalogError if it is not a valid catalog."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        message = _("The file is not a valid .po catalog: it is not UTF-8 text.")
        raise CatalogError(message) from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not PO_LINE.fullmatch(line):
            raise CatalogError(
                _(
                    "The file is not a valid .po catalog: line %(line)d is not understood.",
                    line=number,
                )
            )
    try:
        return read_po(io.BytesIO(data), locale=language, abort_invalid=True)
    except Exception as error:
        message = _("The file is not a valid .po catalog: %(error)s", error=error)
        raise CatalogError(message) from None


def po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=PO_WIDTH)
    return buffer.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out: the app shows the original
    return buffer.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: readers see the old file or the new one, never a mix."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)


def compile_catalog(catalog: Catalog, language: str, directory: Path | None = None) -> None:
    write_atomically(mo_path(language, directory), mo_bytes(catalog))


@contextmanager
def editing(
    language: str, directory: Path | None = None, *, commit: Callable[[], None] | None = None
) -> Iterator[Catalog]:
    """Read the language's catalog under an exclusive lock; on success save and compile it.

    The lock is held from reading to renaming, so a save made at the same moment by another
    worker, thread or host sharing the folder waits and then starts from this one's result.
    Raising inside the block writes nothing. ``commit`` runs after the files are written (the
    database's record of the change); if it fails, the previous files are put back.
    """
    path = po_path(language, directory)
    if not path.exists():
        raise CatalogError(_("There is no catalog for this language yet."))
    mo = mo_path(language, directory)
    with open(path.with_name(f".{DOMAIN}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            catalog = read_catalog(path, language)
            yield catalog
            old_po, old_mo = path.read_bytes(), mo.read_bytes() if mo.exists() else None
            write_atomically(path, po_bytes(catalog))
            compile_catalog(catalog, language, directory)
            if commit is not None:
                try:
                    commit()
                except BaseException:
                    write_atomically(path, old_po)
                    if old_mo is not None:
                        write_atomically(mo, old_mo)
                    raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --- Live reloading -----------------------------------------------------------------------------


class LiveDomain(Domain):
    """Flask-Babel's domain, with its translations cached per app and dropped when a compiled
    catalog changes on disk (checked once per request, a ``stat`` per language)."""

    def get_translations_cache(self, ctx):
        return current_app.extensions["sched_catalogs"]

    # As Flask-Babel's, but a translation that does not format gives the source's text.

    def gettext(self, string, **variables):
        translation = self.get_translations().ugettext(string)
        return formatted(translation, string, variables) if variables else translation

    def ngettext(self, singular, plural, num, **variables):
        variables.setdefault("num", num)
        translation = self.get_translations().ungettext(singular, plural, num)
        return formatted(translation, singular if num == 1 else plural, variables)

    def pgettext(self, context, string, **variables):
        translation = self.get_translations().upgettext(context, string)
        return formatted(translation, string, variables) if variables else translation

    def npgettext(self, context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        translation = self.get_translations().unpgettext(context, singular, plural, num)
        return formatted(translation, singular if num == 1 else plural, variables)

    @staticmethod
    def refresh() -> None:
        cache = current_app.extensions["sched_catalogs"]
        directory = translations_dir()
        signature: list[tuple[int, int, int] | None] = []
        for language in current_app.config["LANGUAGES"]:
            try:
                stat = mo_path(language, directory).stat()
            except FileNotFoundError:
                signature.append(None)
            else:
                signature.append((stat.st_ino, stat.st_mtime_ns, stat.st_size))
        if cache.get("signature") != signature:
            cache.clear()
            cache["signature"] = signature


def init_catalogs(app: Flask) -> None:
    app.extensions["sched_catalogs"] = {}
    app.before_request(LiveDomain.refresh)
