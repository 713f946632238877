"""A minimal SMTP server on loopback that keeps what it receives, for tests of real mail sending
from other processes (uWSGI's cron). It speaks just enough SMTP for smtplib: no TLS, no auth."""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from email.message import Message


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        if self.server.hold is not None:
            self.server.hold.wait(timeout=30)  # a mail server that keeps its client waiting
        self.reply("220 sink ready")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 sink")
            elif command == "DATA":
                self.reply("354 end with a dot")
                data = []
                while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data.append(line[1:] if line.startswith(b"..") else line)
                message = email.message_from_bytes(b"".join(data), policy=email.policy.default)
                self.server.received.append(message)
                self.reply("250 kept")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.reply("250 ok")


class SmtpSink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hold: threading.Event | None = None) -> None:
        """``hold``: greet each client only once this event is set."""
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hold = hold
        self.received: list[Message] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
