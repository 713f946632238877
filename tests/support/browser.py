"""The test client as a browser uses it: forms posted with their CSRF token, logging in, pages.

``Browser`` and ``RequestIsolatingClient`` are what tests/conftest.py's ``browser`` and ``app``
fixtures give; tests that build an app or a client of their own use them the same way.
"""

from __future__ import annotations

import contextvars
import html as html_lib
import re

from flask.testing import FlaskClient

from tests.support.factories import PASSWORD

CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token"[^>]*value="([^"]+)"')


class RequestIsolatingClient(FlaskClient):
    """Serve each request in contexts of its own, as a server would.

    The test holds an app context for its factories and checks; without this, requests would
    share its ``g`` and database session, and a view that forgot to commit could still pass.
    """

    def open(self, *args, **kwargs):
        # Buffered: a streamed body (a CSV export, say) must be read while its context lives.
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class Browser:
    """A test client that fills forms the way a browser does, CSRF token included."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def token(self, url: str = "/login") -> str:
        return csrf_token_from(self.client.get(url).get_data(as_text=True))

    def submit(self, url: str, data: dict, form_url: str | None = None, **kwargs):
        """GET the form page, then POST ``data`` with the page's CSRF token."""
        data = {"csrf_token": self.token(form_url or url), **data}
        return self.client.post(url, data=data, **kwargs)

    def login(self, email: str, password: str = PASSWORD):
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self):
        return self.submit("/logout", {}, form_url="/appointments/")

    def delete(self, url: str, token: str | None = None, **kwargs):
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["X-CSRFToken"] = token
        return self.client.delete(url, headers=headers, **kwargs)


def page(browser: Browser, url: str) -> str:
    """GET ``url``, which must answer 200; return the page."""
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def text(response) -> str:
    """The response's page with its character references read (``&#39;`` as ``'``)."""
    return html_lib.unescape(response.get_data(as_text=True))
