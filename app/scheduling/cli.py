"""The scheduling ``flask`` commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.scheduling.reminders import send_reminders


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Send the reminder e-mails that are due (uWSGI's cron runs this every minute)."""
    click.echo(f"{send_reminders()} reminders sent.")
