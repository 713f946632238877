"""The ``flask`` commands of the core: translations and the deployment check, each a thin
wrapper around a plain function. Features add their own (accounts, scheduling; the demo data
in app/demo.py)."""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.core import catalogs
from app.core.catalogs import translations_dir
from app.core.deploy import deploy_problems

PROJECT_DIR = Path(__file__).resolve().parents[2]


def pot_file(directory: Path | None = None) -> Path:
    return (directory or translations_dir()) / "messages.pot"


def run_pybabel(*args: str) -> None:
    """Run a pybabel subcommand on the project's catalogs, failing loudly."""
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract_template() -> Catalog:
    """The strings the code marks for translation now, as a template catalog."""
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(PROJECT_DIR):
        output = Path(scratch) / "messages.pot"
        run_pybabel(
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_ngettext:1,2",
            "--sort-by-file",
            "--project",
            "sched",
            "-o",
            str(output),
            ".",
        )
        return catalogs.read_catalog(output)


def _content(catalog: Catalog) -> list[tuple]:
    return [
        (m.id, m.context, sorted(m.locations), sorted(m.flags), m.auto_comments)
        for m in catalogs.entries(catalog)
    ]


def extract_messages() -> bool:
    """Write translations/messages.pot if the strings or their places changed; tell if it did.

    An unchanged template is left alone, so its creation date only moves with real changes.
    """
    template, path = extract_template(), pot_file()
    if path.exists() and _content(catalogs.read_catalog(path)) == _content(template):
        return False
    catalogs.write_atomically(path, catalogs.po_bytes(template))
    return True


def fill_source_language(directory: Path) -> None:
    """The source language's catalog says what the code says, until a translator edits it."""
    path = catalogs.po_path(catalogs.SOURCE_LANGUAGE, directory)
    if not path.exists():
        return
    catalog = catalogs.read_catalog(path, catalogs.SOURCE_LANGUAGE)
    for message in catalogs.entries(catalog):
        if message.fuzzy or not catalogs.is_translated(message):
            message.string = message.id
            message.flags.discard("fuzzy")
    catalog.fuzzy = False
    catalogs.write_atomically(path, catalogs.po_bytes(catalog))


def check_catalogs(directory: Path, languages: list[str]) -> list[str]:
    """Every reason the catalogs are not ready to ship; empty when they are."""
    problems = []
    template = extract_template()
    wanted = {catalogs.entry_id(m) for m in catalogs.entries(template)}
    shipped = catalogs.read_catalog(pot_file(directory))
    have = {catalogs.entry_id(m) for m in catalogs.entries(shipped)}
    for msgid, _context in sorted(wanted - have, key=str):
        problems.append(f"messages.pot: missing {msgid!r} (run: flask translate update)")
    for msgid, _context in sorted(have - wanted, key=str):
        problems.append(
            f"messages.pot: no longer in the code {msgid!r} (run: flask translate update)"
        )
    for language in languages:
        path = catalogs.po_path(language, directory)
        name = path.relative_to(directory)
        try:
            catalog = catalogs.read_catalog(path, language)
        except catalogs.CatalogError as error:
            problems.append(f"{name}: {error}")
            continue
        found = {catalogs.entry_id(message): message for message in catalogs.entries(catalog)}
        for msgid, _context in sorted(wanted - set(found), key=str):
            problems.append(f"{name}: missing {msgid!r} (run: flask translate update)")
        for key, message in found.items():
            if key not in wanted:
                continue
            where = f"{name}:{message.lineno}"
            if message.fuzzy:
                problems.append(f"{where}: fuzzy {key[0]!r}")
            elif not catalogs.is_translated(message):
                problems.append(f"{where}: untranslated {key[0]!r}")
            for problem in catalogs.message_problems(message):
                problems.append(f"{where}: {key[0]!r}: {problem}")
            for check_error in message.check(catalog):
                problems.append(f"{where}: {key[0]!r}: {check_error}")
    return problems


@click.group("translate")
def translate() -> None:
    """Translation and localisation commands."""


@translate.command("extract")
def translate_extract() -> None:
    """Collect the translatable strings into translations/messages.pot."""
    changed = extract_messages()
    click.echo(f"{pot_file()} {'updated' if changed else 'unchanged'}.")


@translate.command("init")
@click.argument("lang")
def translate_init(lang: str) -> None:
    """Start a catalog for a new language."""
    if not re.fullmatch(r"[a-z]{2,3}(_[A-Z][a-z]{3})?(_[A-Z]{2})?", lang):
        raise click.BadParameter("a language code such as fr or pt_BR", param_hint="LANG")
    extract_messages()
    directory = translations_dir()
    run_pybabel("init", "-i", str(pot_file()), "-d", str(directory), "-l", lang)
    fill_source_language(directory)


@translate.command("update")
def translate_update() -> None:
    """Merge new strings into every catalog."""
    extract_messages()
    directory = translations_dir()
    run_pybabel("update", "-i", str(pot_file()), "-d", str(directory), "-w", str(catalogs.PO_WIDTH))
    fill_source_language(directory)


@translate.command("compile")
def translate_compile() -> None:
    """Compile every catalog to the .mo files the app reads."""
    directory = translations_dir()
    for path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        language = path.parent.parent.name
        catalogs.compile_catalog(catalogs.read_catalog(path, language), language, directory)


@translate.command("check")
def translate_check() -> None:
    """Fail if any string is missing, untranslated, fuzzy or has wrong placeholders."""
    problems = check_catalogs(translations_dir(), list(current_app.config["LANGUAGES"]))
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} translation problems.")
    click.echo("All catalogs are complete and consistent.")


@click.command("check-deploy")
@with_appcontext
def check_deploy_command() -> None:
    """Report every unsafe production setting; exit non-zero if there is any."""
    problems = deploy_problems(current_app.config)
    for text in problems:
        click.echo(f"- {text}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} deployment problems.")
    click.echo("No deployment problems found.")


def init_commands(app: Flask) -> None:
    app.cli.add_command(check_deploy_command)
    app.cli.add_command(translate)
