"""What the browser tests (tests/e2e) do in headless Chromium again and again."""

from __future__ import annotations

import os
import re
import shutil

from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in on /login as a user does; return once the browser is at the appointment list."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/appointments/$"))


def log_in_and_load(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in on /login and wait for the appointment list to load (see ``arrive``)."""
    log_in(page, email, password)
    page.wait_for_load_state("load")


def arrive(page: Page, url) -> None:
    """Wait until the page at ``url`` has loaded, its scripts and styles included.

    Leaving a page (or ending the test) while its files are still coming makes Chromium drop
    those requests; Werkzeug's development server then leaves the static file it was sending
    open, and the ResourceWarning fails a later test (filterwarnings=error). The admin pages
    load ten scripts each, and their menus and actions need them anyway.
    """
    expect(page).to_have_url(url)
    page.wait_for_load_state("load")


def save_screenshot(page: Page, path, prefix: str) -> None:
    """Keep a screenshot in the test's tmp_path, and in $E2E_SCREENSHOT_DIR if that is set
    (named ``prefix`` + its name there, so that the tests' screenshots keep apart)."""
    page.screenshot(path=path, full_page=True)
    if directory := os.environ.get("E2E_SCREENSHOT_DIR"):
        os.makedirs(directory, exist_ok=True)
        shutil.copy(path, os.path.join(directory, f"{prefix}{path.name}"))


def csp_violations(page) -> list[str]:
    """Collect what the browser refuses under the site's Content-Security-Policy."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    return refused
