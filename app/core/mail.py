"""A development mail backend: every message goes to a file and its text to the console."""

from __future__ import annotations

import sys

from flask_mailman.backends.file import EmailBackend as FileEmailBackend


class DevelopmentEmailBackend(FileEmailBackend):
    """Keep each message under MAIL_FILE_PATH and print it readably, so links can be followed."""

    def write_message(self, message) -> None:
        super().write_message(message)
        recipients = ", ".join(message.to)
        sys.stdout.write(
            f"\n{'-' * 79}\nTo: {recipients}\nSubject: {message.subject}\n\n"
            f"{message.body}\n{'-' * 79}\n"
        )
        sys.stdout.flush()
