"""Sending mail once the answer has gone out, and a development backend that keeps every message
in a file and prints its text to the console."""

from __future__ import annotations

import sys
from email.utils import formataddr

from flask import after_this_request, current_app, has_request_context
from flask_mailman import EmailMessage, EmailMultiAlternatives
from flask_mailman.backends.file import EmailBackend as FileEmailBackend
from flask_security import MailUtil


def send_after_response(message: EmailMessage) -> None:
    """Send ``message`` once this request's answer has been written out (at once outside a
    request, as from a `flask` command).

    The answer then takes as long whether or not it sent mail: a password reset asked for a
    known address must not come back later than one for an unknown address, or its timing
    would tell who has an account. A slow mail server no longer holds the page either. The
    server calls the response's ``close`` after the last byte; a failure is logged, since the
    page has already said the mail is on its way.
    """
    if not has_request_context():
        message.send()
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy

    def send() -> None:
        with app.app_context():
            try:
                message.send()
            except Exception:
                app.logger.exception("Could not send the e-mail %r", str(message.subject))

    @after_this_request
    def send_once_answered(response):
        response.call_on_close(send)
        return response


class AfterResponseMailUtil(MailUtil):
    def send_mail(self, template, subject, recipient, sender, body, html, **kwargs) -> None:
        """Send Flask-Security's mail (reset, confirmation, sign-up) after the answer, like the
        rest of ours, so that its timing tells nobody who has an account."""
        message = EmailMultiAlternatives(
            str(subject), body=body, from_email=_address(sender), to=[_address(recipient)]
        )
        if html:
            message.attach_alternative(html, "text/html")
        send_after_response(message)


def _address(address: str | tuple) -> str:
    """An address as Flask-Security gives it: plain, or (name, address); names may be lazy."""
    if isinstance(address, tuple):
        name, email = address
        return formataddr((str(name), str(email)))
    return str(address)


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
