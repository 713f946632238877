"""HTTP/1.1 clients that keep their connection open (requests, httpx, curl, API clients, health
checkers) get every answer from uWSGI's embedded HTTP socket: no reset, no error.

The socket serves one request per connection and says so (``Connection: close``), so a client
opens the next connection instead of writing to one the server has closed.
"""

from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.scheduling.models import Appointment
from tests.core.test_serving import SECRET, uwsgi_process, uwsgi_server  # noqa: F401 (fixtures)
from tests.support.factories import PASSWORD, make_user

pytestmark = pytest.mark.uwsgi
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CLIENTS = 16
REQUESTS_EACH = 40


@pytest.fixture
def app_overrides():
    """Hash the test users' passwords as the uWSGI under test checks them (its salt)."""
    return {"SECURITY_PASSWORD_SALT": SECRET[::-1]}


class PlainHTTPSession(requests.Session):
    """Production cookies are Secure (HTTPS behind nginx); here they go over plain HTTP."""

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def logged_in_session(base: str, email: str) -> requests.Session:
    session = PlainHTTPSession()
    form = session.get(f"{base}/login", timeout=10)
    token = CSRF.search(form.text).group(1)
    answer = session.post(f"{base}/login", timeout=10, allow_redirects=False, data={
        "email": email, "password": PASSWORD, "csrf_token": token,
    })
    assert answer.headers.get("Location", "").endswith("/appointments/"), answer.status_code
    return session


def create(session: requests.Session, base: str, n: int) -> requests.Response:
    """Create an appointment as the form does; each on a day of its own, so none overlaps."""
    form = session.get(f"{base}/appointments/create/", timeout=10)
    day = f"2030-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}"
    return session.post(f"{base}/appointments/create/", timeout=10, allow_redirects=False, data={
        "csrf_token": CSRF.search(form.text).group(1),
        "idempotency_key": re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"',
                                     form.text).group(1),
        "title": f"Kept alive {n}", "start": f"{day}T{8 + n // 336:02d}:00",
        "end": f"{day}T{8 + n // 336:02d}:30",
    })


def appointment_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Appointment))


def test_a_thousand_requests_over_one_kept_alive_session_all_get_their_answer(
    app, uwsgi_server  # noqa: F811
):
    make_user("alive@example.com")
    session = logged_in_session(uwsgi_server, "alive@example.com")
    statuses = []
    created = 0
    for n in range(250):  # 4 requests each: a page, the form, its POST, a static file
        statuses.append(session.get(f"{uwsgi_server}/calendar/agenda/", timeout=10).status_code)
        answer = create(session, uwsgi_server, n)
        statuses.append(answer.status_code)
        created += answer.status_code == 302
        statuses.append(session.get(f"{uwsgi_server}/static/css/app.css", timeout=10).status_code)
    assert len(statuses) + 250 == 1000
    assert set(statuses) == {200, 302}, sorted(set(statuses))
    assert created == 250 == appointment_count()
    assert answer.headers["Connection"].lower() == "close"


def test_sixteen_clients_each_reusing_its_connection_all_get_their_answers(
    app, uwsgi_server  # noqa: F811
):
    emails = [f"client{n}@example.com" for n in range(CLIENTS)]
    for email in emails:
        make_user(email)
    errors: list[str] = []
    created: list[int] = []

    def client(index: int) -> None:
        try:
            session = logged_in_session(uwsgi_server, emails[index])
            for n in range(REQUESTS_EACH // 2):
                if session.get(f"{uwsgi_server}/appointments/", timeout=30).status_code != 200:
                    errors.append(f"client {index}: list")
                answer = create(session, uwsgi_server, n)
                if answer.status_code != 302:
                    errors.append(f"client {index}: create answered {answer.status_code}")
                else:
                    created.append(index)
        except requests.RequestException as error:
            errors.append(f"client {index}: {error!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert len(created) == CLIENTS * REQUESTS_EACH // 2 == appointment_count()
