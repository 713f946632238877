"""The accounts' ``flask`` commands (Flask-Security adds ``flask users`` and ``flask roles``)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.accounts.sessions import purge_expired_sessions


@click.command("purge-sessions")
@with_appcontext
def purge_sessions_command() -> None:
    """Delete the expired login sessions (uWSGI's cron runs this daily)."""
    click.echo(f"{purge_expired_sessions()} expired sessions deleted.")
