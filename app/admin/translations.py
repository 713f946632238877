"""The translation console: translators edit the message catalogs from the admin panel.

Per language: progress, the entries (filtered, searched, paged) with their source locations and
plural forms, an edit form checked on the server, each entry's history with revert, and the
``.po`` file to download or upload. Saving goes through app.core.catalogs: locked, written
atomically, compiled, and shown on the next request by every worker.

Who may translate what: the ``translate`` permission gives every language, ``translate-<lang>``
one language (give a role ``translate-fr`` to limit its translators to French).
"""

from __future__ import annotations

import gettext as gnu_gettext
import hashlib
import json
from dataclasses import dataclass
from typing import cast

from babel.messages.catalog import Catalog, Message
from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_security import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from sqlalchemy import select
from wtforms import BooleanField, FieldList, HiddenField, TextAreaField

from app.accounts.models import ADMIN_PANEL, TRANSLATE, translate_permission
from app.admin.models import TranslationEdit
from app.admin.security import PermissionRequired, has_permission
from app.core import catalogs
from app.core.gettext import lazy_gettext as _l
from app.core.views import is_local_path
from app.extensions import db

PAGE_SIZE = 25
# Below the site's MAX_CONTENT_LENGTH (1 MiB), so that a file too large is told so here; the
# largest catalog is about 50 KiB.
UPLOAD_MAX_BYTES = 512 * 1024
HISTORY_LENGTH = 50
STATUSES = {
    "all": _l("All"),
    "untranslated": _l("Untranslated"),
    "fuzzy": _l("Needs review"),
    "translated": _l("Translated"),
}


def allowed_languages() -> list[str]:
    """The configured languages the current user may translate, in the configured order."""
    languages = current_app.config["LANGUAGES"]
    if has_permission(TRANSLATE):
        return list(languages)
    return [code for code in languages if has_permission(translate_permission(code))]


def fingerprint(message: Message | None) -> str:
    """What the translation was when a form was shown, to notice a change made meanwhile."""
    state = [catalogs.forms(message), message.fuzzy] if message is not None else None
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()[:16]


def find(catalog: Catalog, key: str) -> Message | None:
    for message in catalogs.entries(catalog):
        if catalogs.message_key(message) == key:
            return message
    return None


def plural_examples(catalog: Catalog) -> list[str]:
    """For each plural form of the language, some numbers that use it ("1", "0, 2, 3, …")."""
    try:
        choose = gnu_gettext.c2py(catalog.plural_expr)
    except (ValueError, SyntaxError):
        return [str(index) for index in range(catalog.num_plurals)]
    examples: list[list[int]] = [[] for _ in range(catalog.num_plurals)]
    for number in range(1001):
        form = choose(number)
        if form < len(examples) and len(examples[form]) < 4:
            examples[form].append(number)
    return [
        ", ".join(map(str, numbers[:3])) + (", …" if len(numbers) > 3 else "")
        for numbers in examples
    ]


class EntryForm(FlaskForm):
    translation = FieldList(TextAreaField(_l("Translation")), min_entries=1)
    fuzzy = BooleanField(_l("Needs review"))
    previous = HiddenField()
    next = HiddenField()

    @classmethod
    def for_message(cls, catalog: Catalog, message: Message, **kwargs) -> EntryForm:
        return cls(
            formdata=None,
            data={
                "translation": padded_forms(catalog, message),
                "fuzzy": message.fuzzy,
                "previous": fingerprint(message),
                **kwargs,
            },
        )


class UploadForm(FlaskForm):
    po_file = FileField(
        _l(".po file"),
        validators=[
            FileRequired(_l("Choose a .po file.")),
            FileSize(
                UPLOAD_MAX_BYTES,
                message=_l("The file is larger than %(size)d KiB.", size=UPLOAD_MAX_BYTES // 1024),
            ),
        ],
    )


class RevertForm(FlaskForm):
    pass


def padded_forms(catalog: Catalog, message: Message) -> list[str]:
    if not message.pluralizable:
        return catalogs.forms(message)
    forms = catalogs.forms(message)[: catalog.num_plurals]
    return forms + [""] * (catalog.num_plurals - len(forms))


def candidate_problems(catalog: Catalog, message: Message, new: list[str]) -> list[str]:
    """Why ``new`` (one string per form) cannot be saved as the message's translation."""
    expected = catalog.num_plurals if message.pluralizable else 1
    if len(new) != expected:
        return [_("This entry needs %(num)d forms.", num=expected)]
    if message.pluralizable and any(new) and not all(new):
        return [_("Fill in every plural form, or none to leave the entry untranslated.")]
    candidate = Message(
        message.id, tuple(new) if message.pluralizable else new[0], context=message.context
    )
    return catalogs.message_problems(candidate)


def apply(message: Message, new: list[str], fuzzy: bool) -> None:
    message.string = tuple(new) if message.pluralizable else new[0]
    if fuzzy and any(new):
        message.flags.add("fuzzy")
    else:
        message.flags.discard("fuzzy")


def record(language: str, message: Message, old: list[str], new: list[str], how: str) -> None:
    db.session.add(
        TranslationEdit(
            language=language,
            key=catalogs.message_key(message),
            msgid=catalogs.entry_id(message)[0],
            how=how,
            old=old,
            new=new,
            actor_id=current_user.id,
            actor_email=current_user.email,
        )
    )


@dataclass
class Row:
    message: Message
    key: str
    status: str
    form: EntryForm


class TranslationConsole(PermissionRequired, BaseView):
    """/admin/translations/: progress per language, and each language's entries."""

    read_permission = TRANSLATE
    write_permission = TRANSLATE

    def is_accessible(self) -> bool:
        return has_permission(ADMIN_PANEL) and bool(allowed_languages())

    def language_or_abort(self, language: str) -> str:
        if language not in current_app.config["LANGUAGES"]:
            abort(404)
        if language not in allowed_languages():
            abort(403)
        return language

    def catalog_or_abort(self, language: str) -> Catalog:
        try:
            return catalogs.read_catalog(catalogs.po_path(language), language)
        except catalogs.CatalogError as error:
            abort(404, description=str(error))

    # --- Pages --------------------------------------------------------------------------------

    @expose("/")
    def index(self):
        languages: list[tuple[str, catalogs.Progress | None]] = []
        for code in allowed_languages():
            try:
                catalog = catalogs.read_catalog(catalogs.po_path(code), code)
            except catalogs.CatalogError:
                languages.append((code, None))
            else:
                languages.append((code, catalogs.progress(catalog)))
        return self.render("admin/translations/index.html", languages=languages)

    @expose("/<language>/")
    def entries(self, language: str):
        language = self.language_or_abort(language)
        catalog = self.catalog_or_abort(language)
        status = request.args.get("status", "all")
        if status not in STATUSES:
            status = "all"
        search = request.args.get("q", "").strip()
        page = max(request.args.get("page", 0, type=int), 0)

        matches = []
        needle = search.casefold()
        for message in catalogs.entries(catalog):
            state = catalogs.status(message)
            if status != "all" and state != status:
                continue
            if needle and not any(needle in text.casefold() for text in _texts(message)):
                continue
            matches.append((message, state))
        pages = max((len(matches) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        page = min(page, pages - 1)
        here = request.full_path if request.query_string else request.path
        rows = [
            Row(
                message,
                catalogs.message_key(message),
                state,
                EntryForm.for_message(catalog, message, next=here),
            )
            for message, state in matches[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        ]
        return self.render(
            "admin/translations/entries.html",
            language=language,
            catalog=catalog,
            rows=rows,
            status=status,
            statuses=STATUSES,
            search=search,
            page=page,
            pages=pages,
            found=len(matches),
            progress=catalogs.progress(catalog),
            plural_examples=plural_examples(catalog),
            upload_form=UploadForm(),
        )

    @expose("/<language>/<key>/", methods=("GET", "POST"))
    def entry(self, language: str, key: str):
        language = self.language_or_abort(language)
        catalog = self.catalog_or_abort(language)
        message = find(catalog, key)
        if message is None:
            abort(404)
        if request.method == "GET":
            form = EntryForm.for_message(catalog, message)
            return self.render_entry(language, catalog, message, form)

        form = EntryForm()
        new = [text.replace("\r\n", "\n") for text in form.translation.data]
        errors = []
        if form.validate():
            errors = candidate_problems(catalog, message, new)
        if form.errors or errors:
            return self.render_entry(language, catalog, message, form, errors, status=400)

        conflict = False

        def save(locked: Catalog) -> None:
            nonlocal conflict
            current = find(locked, key)
            if current is None or fingerprint(current) != form.previous.data:
                conflict = True
                raise _Unchanged
            old = catalogs.forms(current)
            apply(current, new, form.fuzzy.data)
            record(language, current, old, catalogs.forms(current), "edit")

        if not self.change(language, save):
            if not conflict:
                return self.render_entry(language, catalog, message, form, status=503)
            # Another translator saved this entry since the form was shown: show theirs.
            catalog = self.catalog_or_abort(language)
            message = find(catalog, key)
            if message is None:
                abort(404)
            form.previous.data = fingerprint(message)
            errors = [
                _(
                    "Someone else changed this entry meanwhile. Their version is shown "
                    "above the form; save again to replace it with yours."
                )
            ]
            return self.render_entry(language, catalog, message, form, errors, status=409)
        flash(_("Saved. The new translation is live."), "success")
        back = form.next.data or ""
        if not is_local_path(back):
            back = url_for(".entry", language=language, key=key)
        return redirect(back)

    @expose("/<language>/<key>/revert/<id:edit_id>", methods=("POST",))
    def revert(self, language: str, key: str, edit_id: int):
        language = self.language_or_abort(language)
        if not RevertForm().validate_on_submit():
            abort(400, description=_("The form has expired. Reload the page and try again."))
        edit = db.session.get(TranslationEdit, edit_id)
        if edit is None or edit.language != language or edit.key != key:
            abort(404)
        catalog = self.catalog_or_abort(language)
        message = find(catalog, key)
        if message is None:
            abort(404)
        errors = candidate_problems(catalog, message, list(edit.old))
        if errors:
            form = EntryForm.for_message(catalog, message)
            return self.render_entry(language, catalog, message, form, errors, status=400)

        def save(locked: Catalog) -> None:
            current = find(locked, key)
            if current is None:
                raise _Unchanged
            old = catalogs.forms(current)
            apply(current, list(edit.old), fuzzy=False)
            record(language, current, old, catalogs.forms(current), "revert")

        if self.change(language, save):
            flash(_("The earlier translation is back."), "success")
        return redirect(url_for(".entry", language=language, key=key))

    @expose("/<language>/download")
    def download(self, language: str):
        language = self.language_or_abort(language)
        path = catalogs.po_path(language)
        if not path.exists():
            abort(404)
        response = send_file(
            path,
            mimetype="text/x-gettext-translation",
            as_attachment=True,
            download_name=f"sched-{language}.po",
            max_age=0,
        )
        response.cache_control.private = True  # a catalog being edited: kept by no cache
        response.cache_control.no_store = True
        return response

    @expose("/<language>/upload", methods=("POST",))
    def upload(self, language: str):
        language = self.language_or_abort(language)
        form = UploadForm()
        if not form.validate_on_submit():
            errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
            return self.render_upload_errors(language, errors)
        try:
            uploaded = catalogs.parse_uploaded_catalog(form.po_file.data.read(), language)
        except catalogs.CatalogError as error:
            return self.render_upload_errors(language, [str(error)])
        if uploaded.locale is not None and uploaded.locale.language != language.split("_")[0]:
            return self.render_upload_errors(
                language,
                [
                    _("This file is for another language (%(found)s).", found=str(uploaded.locale)),
                ],
            )

        catalog = self.catalog_or_abort(language)
        changes, errors, unknown = upload_changes(catalog, uploaded)
        if errors:
            return self.render_upload_errors(language, errors)
        if not changes:
            flash(_("The file has no changes."), "info")
            return redirect(url_for(".entries", language=language))

        def save(locked: Catalog) -> None:
            for key, (new, fuzzy) in changes.items():
                current = find(locked, key)
                if current is None:
                    continue
                old = catalogs.forms(current)
                apply(current, new, fuzzy)
                record(language, current, old, catalogs.forms(current), "upload")

        if self.change(language, save):
            flash(
                ngettext(
                    "%(num)d entry updated from the file.",
                    "%(num)d entries updated from the file.",
                    len(changes),
                ),
                "success",
            )
            if unknown:
                flash(
                    ngettext(
                        "%(num)d entry of the file is not in the catalog and was ignored.",
                        "%(num)d entries of the file are not in the catalog and were ignored.",
                        unknown,
                    ),
                    "warning",
                )
        return redirect(url_for(".entries", language=language))

    # --- Helpers ------------------------------------------------------------------------------

    def change(self, language: str, save) -> bool:
        """Run ``save(catalog)`` under the catalog's lock, then write, compile and commit."""
        try:
            with catalogs.editing(language, commit=db.session.commit) as catalog:
                save(catalog)
        except _Unchanged:
            db.session.rollback()
            return False
        except (catalogs.CatalogError, OSError) as error:
            db.session.rollback()
            current_app.logger.exception("Saving the %s catalog failed", language)
            flash(_("The catalog could not be saved: %(error)s", error=str(error)), "error")
            return False
        return True

    def render_entry(self, language, catalog, message, form, errors=(), status=200):
        key = catalogs.message_key(message)
        history = db.session.scalars(
            select(TranslationEdit)
            .where(TranslationEdit.language == language, TranslationEdit.key == key)
            .order_by(TranslationEdit.created.desc(), TranslationEdit.id.desc())
            .limit(HISTORY_LENGTH)
        ).all()
        return self.render(
            "admin/translations/entry.html",
            language=language,
            catalog=catalog,
            message=message,
            key=key,
            form=form,
            errors=errors,
            history=history,
            status=catalogs.status(message),
            plural_examples=plural_examples(catalog),
            statuses=STATUSES,
            revert_form=RevertForm(),
        ), status

    def render_upload_errors(self, language: str, errors: list[str]):
        return self.render(
            "admin/translations/upload_errors.html",
            language=language,
            errors=errors,
        ), 400


class _Unchanged(Exception):
    """Raised inside a save to leave the catalog as it is."""


def _texts(message: Message) -> list[str]:
    source = list(message.id) if message.pluralizable else [cast(str, message.id)]
    return source + catalogs.forms(message) + [message.context or ""]


def upload_changes(catalog: Catalog, uploaded: Catalog):
    """Compare an uploaded catalog with ours: the changes, every problem, the unknown entries."""
    ours = {catalogs.entry_id(m): m for m in catalogs.entries(catalog)}
    changes: dict[str, tuple[list[str], bool]] = {}
    errors: list[str] = []
    unknown = 0
    for theirs in catalogs.entries(uploaded):
        message = ours.get(catalogs.entry_id(theirs))
        if message is None or theirs.pluralizable != message.pluralizable:
            unknown += 1
            continue
        new = padded_forms(catalog, theirs)
        fuzzy = theirs.fuzzy
        if new == catalogs.forms(message) and fuzzy == message.fuzzy:
            continue
        if not any(new) and any(catalogs.forms(message)):
            continue  # an empty entry in the file does not erase a translation
        for problem in candidate_problems(catalog, message, new):
            source = catalogs.entry_id(message)[0]
            errors.append(
                _(
                    "Line %(line)d, “%(source)s”: %(problem)s",
                    line=theirs.lineno or 0,
                    source=source,
                    problem=problem,
                )
            )
        changes[catalogs.message_key(message)] = (new, fuzzy)
    return changes, errors, unknown


def add_views(admin) -> None:
    admin.add_view(
        TranslationConsole(
            name=_l("Translations"),
            endpoint="translations",
            url="translations",
        )
    )
