"""Project commands for the ``flask`` CLI, each a thin wrapper around a plain function."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click
from babel.messages.frontend import CommandLineInterface
from flask import Flask

from app.core.demo import DatabaseNotEmpty, seed_demo

PROJECT_DIR = Path(__file__).resolve().parents[2]
TRANSLATIONS_DIR = PROJECT_DIR / "translations"
POT_FILE = TRANSLATIONS_DIR / "messages.pot"


@click.command("seed-demo")
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the demo logins to this file (readable by you only).",
)
def seed_demo_command(save: Path | None) -> None:
    """Fill an empty database with demo users and appointments."""
    try:
        accounts = seed_demo()
    except DatabaseNotEmpty:
        click.echo("The database already has users; no demo data added.")
        return
    lines = [f"{a.email:<26} {a.password}   ({a.role or 'user'})" for a in accounts]
    click.echo("Demo accounts (e-mail, password):\n  " + "\n  ".join(lines))
    if save:
        save.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(save, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")


def run_pybabel(*args: str) -> None:
    """Run a pybabel subcommand on the project's catalogs, failing loudly."""
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract_messages() -> None:
    """Write translations/messages.pot, with source locations relative to the project."""
    with contextlib.chdir(PROJECT_DIR):
        run_pybabel(
            "extract", "-F", "babel.cfg", "-k", "_l", "--sort-by-file",
            "--project", "sched", "-o", str(POT_FILE.relative_to(PROJECT_DIR)), ".",
        )


@click.group("translate")
def translate() -> None:
    """Translation and localisation commands."""


@translate.command("extract")
def translate_extract() -> None:
    """Collect the translatable strings into translations/messages.pot."""
    extract_messages()


@translate.command("init")
@click.argument("lang")
def translate_init(lang: str) -> None:
    """Start a catalog for a new language."""
    extract_messages()
    run_pybabel("init", "-i", str(POT_FILE), "-d", str(TRANSLATIONS_DIR), "-l", lang)


@translate.command("update")
def translate_update() -> None:
    """Merge new strings into every catalog."""
    extract_messages()
    run_pybabel("update", "-i", str(POT_FILE), "-d", str(TRANSLATIONS_DIR))


@translate.command("compile")
def translate_compile() -> None:
    """Compile every catalog to the .mo files the app reads."""
    if any(TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po")):
        run_pybabel("compile", "-d", str(TRANSLATIONS_DIR))


def init_commands(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(translate)
