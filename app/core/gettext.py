"""Translations are text: what a translator writes is escaped in pages like any other data.

Flask-Babel and Jinja trust a translation as markup: Jinja's ``_()`` wraps it in ``Markup`` and
Flask-Babel's lazy strings say they are HTML already (``__html__``). A translator is trusted
with words, not with markup, so here a translation becomes markup only through
``translation_markup``: its text escaped (quotes included, so it is safe in an attribute too),
only the tags of the source kept as tags. Placeholder values are escaped by ``Markup % values``
as before. In plain text (e-mails) nothing changes.

``lazy_gettext`` replaces Flask-Babel's for module-level strings; ``init_template_gettext``
replaces the functions Flask-Babel gives Jinja. The catalog checks (``app.core.catalogs``)
refuse such translations before they are saved; this is what holds when a catalog on disk was
changed by other means, and a translation that cannot be formatted falls back to the source.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_babel import get_translations
from flask_babel import gettext as _gettext
from flask_babel.speaklater import LazyString
from jinja2 import pass_context
from markupsafe import Markup, escape

# A start or end tag, as the catalog checks read them.
TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def source_tags(*sources: str) -> set[str]:
    """The tags written in the source texts, each with its whitespace normalised."""
    return {" ".join(tag.split()) for source in sources for tag in TAG.findall(source)}


def translation_markup(translation: str, *sources: str) -> Markup:
    """Return the translation as HTML: its text escaped, the sources' own tags kept.

    A tag the sources lack is text, shown as written; so is every quote and ampersand.
    """
    allowed = source_tags(*sources)
    if not allowed:
        return escape(translation)
    parts = []
    position = 0
    for match in TAG.finditer(translation):
        parts.append(escape(translation[position : match.start()]))
        tag = match.group(0)
        kept = " ".join(tag.split()) in allowed
        parts.append(Markup(tag) if kept else escape(tag))  # noqa: S704 (a source's own tag)
        position = match.end()
    parts.append(escape(translation[position:]))
    return Markup("").join(parts)


class Translation(str):
    """A translated string that, put into a page, is escaped as ``translation_markup`` says.

    ``fallback`` is the source text used instead when the translation cannot be formatted (a
    placeholder the source lacks, a stray ``%``): a broken catalog shows English, not an error.
    """

    fallback: str
    sources: tuple[str, ...]

    def __new__(cls, text: str, fallback: str, *sources: str) -> Translation:
        translation = super().__new__(cls, text)
        translation.fallback = fallback
        translation.sources = sources or (fallback,)
        return translation

    def __html__(self) -> Markup:
        return translation_markup(str(self), *self.sources)


def formatted(translation: str, fallback: str, variables: dict, markup: bool = False):
    """``translation % variables``, or the source's if the translation does not format.

    With ``markup`` the result is HTML: the translation escaped by its ``__html__``, the
    (trusted) source kept, the values escaped by ``Markup %``.
    """
    try:
        text = Markup(translation) if markup else translation  # noqa: S704 (its __html__ escapes)
        return text % variables
    except (KeyError, ValueError, TypeError):
        return (Markup(fallback) if markup else fallback) % variables  # noqa: S704 (the source)


class LazyTranslation(LazyString):
    """Flask-Babel's lazy string, escaped in pages: its values and its translator's text."""

    def __html__(self) -> Markup:
        (source,) = self._args
        translation = Translation(get_translations().ugettext(source), source)
        return formatted(translation, source, self._kwargs, markup=True)


class TextJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with a lazy string written as its text: JSON is read as data, so the
    escaped ``__html__`` that Flask would take is wrong there."""

    @staticmethod
    def default(o):
        if isinstance(o, LazyString):
            return str(o)
        return DefaultJSONProvider.default(o)


def lazy_gettext(string: str, **variables) -> LazyTranslation:
    """Like Flask-Babel's ``lazy_gettext``, for strings made at import time (``_l``)."""
    return LazyTranslation(_gettext, string, **variables)


# What templates call: Jinja's newstyle gettext (every text is formatted with ``%``, values
# escaped), with the translation escaped and a source fallback for a translation that breaks.


@pass_context
def _template_gettext(context, string: str, **variables):
    translation = Translation(get_translations().ugettext(string), string)
    return formatted(translation, string, variables, context.eval_ctx.autoescape)


@pass_context
def _template_ngettext(context, singular: str, plural: str, num: int, **variables):
    variables.setdefault("num", num)
    text = get_translations().ungettext(singular, plural, num)
    translation = Translation(text, singular if num == 1 else plural, singular, plural)
    return formatted(translation, translation.fallback, variables, context.eval_ctx.autoescape)


@pass_context
def _template_pgettext(context, message_context: str, string: str, **variables):
    variables.setdefault("context", message_context)
    translation = Translation(get_translations().upgettext(message_context, string), string)
    return formatted(translation, string, variables, context.eval_ctx.autoescape)


@pass_context
def _template_npgettext(
    context, message_context: str, singular: str, plural: str, num: int, **variables
):
    variables.setdefault("context", message_context)
    variables.setdefault("num", num)
    text = get_translations().unpgettext(message_context, singular, plural, num)
    translation = Translation(text, singular if num == 1 else plural, singular, plural)
    return formatted(translation, translation.fallback, variables, context.eval_ctx.autoescape)


def init_template_gettext(app: Flask) -> None:
    """Give templates ``_()``, ``ngettext()``... whose translations are escaped (in place of
    the ones Flask-Babel installs; ``{% trans %}`` blocks call them too)."""
    app.jinja_env.newstyle_gettext = True  # type: ignore[attr-defined]  # jinja2.ext.i18n's setting
    app.jinja_env.globals.update(
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        pgettext=_template_pgettext,
        npgettext=_template_npgettext,
    )
