"""Fixtures for the browser tests: the app on a real HTTP server, and headless Chromium.

The server runs in a thread of the test process, so a test can read the mail the app sent
(Flask-Mailman's locmem outbox) and look at the database while the browser drives the pages.
Playwright never downloads a browser here: it drives Debian's Chromium. If that is missing the
tests fail, loudly, instead of being skipped.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app import create_app
from app.extensions import db

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Milliseconds Playwright waits for an element, a navigation or an expectation.
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class LiveServer:
    app: Flask
    server: BaseWSGIServer
    url: str

    @property
    def outbox(self) -> list:
        """The mail the app has sent since the server started."""
        return self.app.extensions["mailman"].outbox

    def wait_for_mail(self, count: int, timeout: float = 10) -> list:
        """The outbox once it holds ``count`` messages: the app sends mail after its answer has
        gone out (app/core/mail.py), so it may arrive a moment after the page."""
        deadline = time.monotonic() + timeout
        while len(self.outbox) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.outbox


class _DrainingReader:
    """A request's input whose drain after the answer survives a connection the client reset.

    After each answer Werkzeug's server reads whatever the client sent past its request (with
    ``read(10_000_000)``) before it closes the answer. Chromium often resets a connection after
    a POST it has its answer to: the read raised, Werkzeug dropped the error, and the answer's
    close never ran, nor the mail the app sends there (app/core/mail.py). A mail the test
    waited for never came. uWSGI, which serves the app for real, closes the answer anyway.
    """

    DRAIN_SIZE = 10_000_000

    def __init__(self, rfile):
        self._rfile = rfile

    def read(self, size: int = -1) -> bytes:
        if size < self.DRAIN_SIZE:
            return self._rfile.read(size)
        try:
            return self._rfile.read1(65536)
        except OSError:  # reset by the client: nothing more to drain
            return b""

    def __getattr__(self, name):
        return getattr(self._rfile, name)


class _RequestHandler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.rfile = _DrainingReader(self.rfile)


@pytest.fixture
def live_server(database_url, app_overrides) -> Iterator[LiveServer]:
    """The app on http://127.0.0.1:<free port>, with a fresh migrated database of its own."""
    # Static files cached as in production: a page left early then has no half-sent file that
    # the development server would leave open.
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SEND_FILE_MAX_AGE_DEFAULT": 3600,
            **app_overrides,
        },
    )
    mail = app.extensions["mailman"]
    mail.outbox = []
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_RequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, server=server, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()  # stops serve_forever; returns once the loop has exited
        server.server_close()  # closes the listening socket
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()
        mail.outbox = []


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def chromium(playwright) -> Iterator[Browser]:
    """One headless Chromium for the session; every test gets a fresh context in it."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: install Debian's `chromium` package "
            "(make system-packages) or set CHROMIUM_PATH. The browser tests never download one."
        )
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def new_context(chromium, live_server) -> Iterator:
    """Make browser contexts (cookie jars) on the live server; all are closed at teardown.

    Depending on ``live_server`` makes the contexts close, and drop their keep-alive
    connections, before the server shuts down.
    """
    contexts: list[BrowserContext] = []

    def make(**options) -> BrowserContext:
        options = {"base_url": live_server.url, "locale": "en-US", **options}
        context = chromium.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def context(new_context) -> BrowserContext:
    return new_context()


@pytest.fixture
def page(context) -> Page:
    page = context.new_page()
    # A JavaScript error on any page fails the test that caused it.
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"JavaScript errors in the page: {errors}"
