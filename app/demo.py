"""Demo data for a fresh database (``flask seed-demo``, which `make run` calls): each feature's
own, put together here, above the features: the accounts' users (app/accounts/demo.py), then the
calendar's appointments for each of them (app/scheduling/demo.py)."""

from __future__ import annotations

import os
import random
from datetime import date
from pathlib import Path

import click

from app.accounts.demo import DemoAccount, add_demo_users, has_users
from app.core.db import now_utc
from app.extensions import db
from app.scheduling.demo import demo_appointments


class DatabaseNotEmpty(Exception):
    """Demo data goes only into a database that has no users yet."""


def seed_demo(today: date | None = None, appointments_per_user: int = 12) -> list[DemoAccount]:
    """Create the demo users and their appointments; return the accounts with passwords."""
    if has_users():
        raise DatabaseNotEmpty
    today = today or now_utc().date()
    rng = random.Random(today.toordinal())
    accounts = []
    for user, account in add_demo_users():
        count = appointments_per_user * (2 if account.role is None else 1)
        db.session.add_all(demo_appointments(user, today, rng, count))
        accounts.append(account)
    db.session.commit()
    return accounts


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
