"""A load of logged-in users against a running server, and what it left in the database.

``Load`` starts one thread per client. Each client is a browser of its own (its own cookies,
its own address, sent as nginx would in ``X-Forwarded-For``) logged in as one of the users;
two clients share each user, as two tabs or devices would. Once every client has logged in,
each loops until the time is up: it looks at the appointment list, the calendar (month, week,
day, agenda) and an appointment, creates appointments (the form's CSRF token, a unique marker in
the title) and edits them (every field of the edit form sent back, hidden ones included: the
CSRF token and the version, with the end and the location changed). Two clients of the same
user may edit one appointment at once: the later answers 409, which is an expected outcome.

Every request's kind, status (or the error when no answer came), latency and start are kept;
``LoadResult.summary()`` tells the figures, ``check_database()`` what the database holds against
what was submitted: every acknowledged create exactly once, as submitted or as one of its
edits; a create whose answer never came (or was a 503) at most once; nothing else.

Only the standard library: http.client, each client keeping its connection open from request to
request as HTTP/1.1 clients do, and opening a new one when the server says it closes it (uWSGI's
http-socket does, after each answer).
"""

from __future__ import annotations

import http.client
import math
import random
import re
import secrets
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

# What our 503 page says (app/core/errors.py), in English: the clients ask for English.
UNAVAILABLE_TEXT = "The service is temporarily unavailable"
REQUEST_TIMEOUT = 30  # seconds; uWSGI's harakiri is 30 too
DETAIL_URL = re.compile(r"^/appointments/(\d+)/$")
FORM_TIME = "%Y-%m-%dT%H:%M"  # the datetime-local fields' format
# Appointments go far in the future, each client in slots of its own: none overlaps another.
FIRST_SLOT = datetime(2031, 1, 6, 9, 0)
SLOT = timedelta(hours=2)
SLOTS_PER_CLIENT = 1000  # 83 days each: 50 clients stay within 2031-2042
# What a client does on each turn, and how often (page views, then writes).
ACTIONS = {
    "list": 14, "month": 14, "week": 8, "day": 4, "agenda": 5, "detail": 15,
    "create": 22, "edit": 18,
}
# How many of a user's newest appointments an edit picks from: few enough that the two
# clients of a user sometimes edit the same one at once.
EDIT_CHOICES = 3


# --------------------------------------------------------------------------------------------
# What happened
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One request: what it was for, when it started (seconds into the run), how it ended."""

    kind: str
    method: str
    started: float
    seconds: float
    status: int | None  # None: no answer (the error says why)
    error: str | None = None
    unavailable_page: bool = False  # a 503 with our page and a Retry-After

    @property
    def ended(self) -> float:
        return self.started + self.seconds


@dataclass
class Submission:
    """Appointment values sent in a create or an edit form, and what became of them."""

    title: str
    start: str  # as typed in the form, on the user's clock
    end: str
    location: str
    appointment_id: int | None = None  # known for edits, and for acknowledged creates
    # "acknowledged" (302 to the appointment), "conflict" (409), "refused" (an answer that
    # says nothing was saved), "in doubt" (no answer, or a 503: it may have been committed).
    result: str = "in doubt"


@dataclass
class Page:
    status: int | None
    headers: dict[str, str]
    body: str


class NoAnswer(Exception):
    """The connection failed or closed before a whole answer came."""


# --------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------


class FormParser(HTMLParser):
    """Collect each POST form's fields the way a browser would send them unchanged."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({})
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file") or (
                kind in ("checkbox", "radio") and "checked" not in attrs
            ):
                return
            self.forms[-1][attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = attrs["name"]
            self.forms[-1][self._textarea] = ""
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self.forms[-1].setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.forms[-1][self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1][self._textarea] += data


def form_with(html: str, field_name: str) -> dict[str, str]:
    """The fields of the page's form that has ``field_name``."""
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        if field_name in form:
            return form
    raise ValueError(f"no form with a {field_name!r} field")


# --------------------------------------------------------------------------------------------
# One client: a browser of one user
# --------------------------------------------------------------------------------------------


@dataclass
class User:
    email: str
    password: str
    timezone: str
    # The user's appointments acknowledged so far (by either of their clients), newest last.
    appointment_ids: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, appointment_id: int) -> None:
        with self.lock:
            self.appointment_ids.append(appointment_id)

    def recent(self) -> list[int]:
        with self.lock:
            return self.appointment_ids[-EDIT_CHOICES:]


class Client:
    def __init__(self, run: Load, number: int, user: User):
        self.run, self.number, self.user = run, number, user
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None
        # Each client comes from an address of its own, through the proxy uWSGI trusts.
        self.address = f"10.{number // 250}.{number % 250}.{1 + number % 200}"
        self.random = random.Random(f"{run.tag}-{number}")
        self.created = 0
        self.edits = 0
        self.outcomes: list[Outcome] = []  # the requests of the loop
        self.login_outcomes: list[Outcome] = []  # the requests that logged in, before it
        self.looping = False
        self.creates: list[Submission] = []
        self.edit_submissions: list[Submission] = []
        self.failure: str | None = None  # an unexpected exception that stopped the client

    # --- HTTP ---------------------------------------------------------------------------

    def request(self, kind: str, method: str, path: str, form: dict | None = None) -> Page:
        headers = {
            "Host": self.run.netloc,
            "Accept": "text/html",
            "Accept-Language": "en",
            "User-Agent": f"sched-load/{self.number}",
            "X-Forwarded-For": self.address,
            "X-Forwarded-Proto": "https",  # as nginx tells it: the cookies are Secure
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            # The form's own page, as a browser tells it: on HTTPS the CSRF check wants it.
            headers["Referer"] = f"https://{self.run.netloc}{path}"
        started = time.monotonic()
        # One connection kept open from request to request, as HTTP/1.1 clients keep it
        # (requests, httpx, browsers), until the server says it closes it.
        if self.connection is None:
            self.connection = http.client.HTTPConnection(
                self.run.host, self.run.port, timeout=REQUEST_TIMEOUT
            )
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read().decode("utf-8", "replace")
            status, response_headers = response.status, response.headers
        except (OSError, http.client.HTTPException) as error:
            self.close_connection()
            self.record(kind, method, started, None, error=type(error).__name__)
            raise NoAnswer(type(error).__name__) from error
        if response.will_close:
            self.close_connection()
        for header in response_headers.get_all("Set-Cookie") or []:
            self.keep_cookie(header)
        unavailable = (
            status == 503 and UNAVAILABLE_TEXT in content and "Retry-After" in response_headers
        )
        self.record(kind, method, started, status, unavailable_page=unavailable)
        return Page(status, dict(response_headers), content)

    def close_connection(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def record(self, kind, method, started, status, **details) -> None:
        now = time.monotonic()
        outcomes = self.outcomes if self.looping else self.login_outcomes
        outcomes.append(Outcome(
            kind, method, started - self.run.started_at, now - started, status, **details
        ))

    def keep_cookie(self, header: str) -> None:
        for name, morsel in SimpleCookie(header).items():
            if morsel["max-age"] == "0" or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def follow(self, page: Page, kind: str) -> None:
        """Go where a redirect points, as a browser does."""
        location = page.headers.get("Location", "")
        if page.status in (301, 302, 303) and location:
            self.request(kind, "GET", urlsplit(location).path)

    # --- What a user does ---------------------------------------------------------------

    def log_in(self) -> None:
        page = self.request("login-form", "GET", "/login")
        form = form_with(page.body, "email")
        form.update(email=self.user.email, password=self.user.password)
        answer = self.request("login", "POST", "/login", form)
        if answer.status != 302:
            raise RuntimeError(f"client {self.number} could not log in: {answer.status}")

    def turn(self) -> None:
        action = self.random.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        day = (FIRST_SLOT + SLOT * (self.number * SLOTS_PER_CLIENT + self.created)).date()
        if action in ("detail", "edit") and not self.user.recent():
            action = "create"
        if action == "list":
            self.request(action, "GET", "/appointments/")
        elif action == "month":
            self.request(action, "GET", f"/calendar/month/{day.year}/{day.month}/")
        elif action in ("week", "day"):
            self.request(action, "GET", f"/calendar/{action}/{day.year}/{day.month}/{day.day}/")
        elif action == "agenda":
            self.request(action, "GET", "/calendar/agenda/")
        elif action == "detail":
            appointment_id = self.random.choice(self.user.recent())
            self.request(action, "GET", f"/appointments/{appointment_id}/")
        elif action == "create":
            self.create()
        else:
            self.edit(self.random.choice(self.user.recent()))

    def create(self) -> None:
        page = self.request("create-form", "GET", "/appointments/create/")
        if page.status != 200:
            return
        if self.created >= SLOTS_PER_CLIENT:
            raise RuntimeError(f"client {self.number} has used up its time slots")
        start = FIRST_SLOT + SLOT * (self.number * SLOTS_PER_CLIENT + self.created)
        self.created += 1
        form = form_with(page.body, "title")
        submission = Submission(
            title=f"{self.run.tag} c{self.number:03d} n{self.created:05d}",
            start=start.strftime(FORM_TIME),
            end=(start + timedelta(minutes=self.random.choice((30, 60, 90)))).strftime(FORM_TIME),
            location=f"Room {self.random.randint(1, 99)}",
        )
        form.update(
            title=submission.title, start=submission.start, end=submission.end,
            location=submission.location, description=f"Made by load client {self.number}.",
        )
        self.creates.append(submission)
        answer = self.request("create", "POST", "/appointments/create/", form)
        match = DETAIL_URL.match(urlsplit(answer.headers.get("Location", "")).path)
        if answer.status == 302 and match:
            submission.result = "acknowledged"
            submission.appointment_id = int(match.group(1))
            self.user.add(submission.appointment_id)
            self.follow(answer, "detail")
        elif answer.status != 503:
            submission.result = "refused"

    def edit(self, appointment_id: int) -> None:
        path = f"/appointments/{appointment_id}/edit/"
        page = self.request("edit-form", "GET", path)
        if page.status != 200:
            return
        form = form_with(page.body, "title")
        self.edits += 1
        start = datetime.strptime(form["start"], FORM_TIME)
        end = start + timedelta(minutes=self.random.choice((15, 45, 120)))
        form.update(end=end.strftime(FORM_TIME), location=f"Edit {self.number}-{self.edits}")
        submission = Submission(
            form["title"], form["start"], form["end"], form["location"], appointment_id
        )
        self.edit_submissions.append(submission)
        answer = self.request("edit", "POST", path, form)
        if answer.status == 302:
            submission.result = "acknowledged"
            self.follow(answer, "detail")
        elif answer.status == 409:
            submission.result = "conflict"
        elif answer.status != 503:
            submission.result = "refused"

    def run_until(self, logged_in: threading.Barrier, deadline: list[float]) -> None:
        try:
            self._run_until(logged_in, deadline)
        finally:
            self.close_connection()

    def _run_until(self, logged_in: threading.Barrier, deadline: list[float]) -> None:
        try:
            self.log_in()
        except Exception as error:  # noqa: BLE001 (reported, and the run is failed)
            self.failure = f"{type(error).__name__}: {error}"
            logged_in.abort()
            return
        try:
            logged_in.wait()
        except threading.BrokenBarrierError:
            return
        self.looping = True
        while time.monotonic() < deadline[0] and not self.run.stopping.is_set():
            try:
                self.turn()
            except NoAnswer:
                time.sleep(0.05)  # the server is gone for the moment; try again shortly
            except Exception as error:  # noqa: BLE001 (reported, and the run is failed)
                self.failure = f"{type(error).__name__}: {error}"
                return


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


class Load:
    """``clients`` threads against ``base_url`` for ``duration`` seconds after logging in."""

    def __init__(self, base_url: str, users: list[User], clients: int, duration: float):
        parts = urlsplit(base_url)
        self.host, self.port, self.netloc = parts.hostname, parts.port, parts.netloc
        self.users, self.duration = users, duration
        self.tag = f"load-{secrets.token_hex(4)}"  # the marker every title of this run starts with
        self.clients = [Client(self, n, users[n % len(users)]) for n in range(clients)]
        self.stopping = threading.Event()
        self.started_at = time.monotonic()
        self._threads: list[threading.Thread] = []
        self._deadline = [float("inf")]
        self._cpu_at_start = 0.0
        # CPU seconds this process (the clients) used in the loop: it shares the cores with uWSGI.
        self.client_cpu_seconds = 0.0

    def start(self) -> None:
        """Log every client in, then let them loop for ``duration`` seconds; return at once."""
        def all_logged_in():
            self.started_at = time.monotonic()
            self._deadline[0] = self.started_at + self.duration
            self._cpu_at_start = time.process_time()

        barrier = threading.Barrier(len(self.clients) + 1, action=all_logged_in)
        self._threads = [
            threading.Thread(target=c.run_until, args=(barrier, self._deadline), daemon=True)
            for c in self.clients
        ]
        for thread in self._threads:
            thread.start()
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            self.stop()
            failures = [c.failure for c in self.clients if c.failure]
            raise RuntimeError(f"the clients could not all log in: {failures[:3]}") from None

    def elapsed(self) -> float:
        """Seconds since the clients started their loop."""
        return time.monotonic() - self.started_at

    def stop(self) -> None:
        self.stopping.set()

    def join(self) -> LoadResult:
        """Wait for the clients to finish (at most one request's timeout past the end)."""
        for thread in self._threads:
            thread.join(timeout=max(0.0, self._deadline[0] - time.monotonic()) + REQUEST_TIMEOUT
                        + 5)
        stuck = sum(thread.is_alive() for thread in self._threads)
        self.stop()
        self.client_cpu_seconds = time.process_time() - self._cpu_at_start
        return LoadResult(self, stuck)


@dataclass
class LoadResult:
    run: Load
    stuck: int  # clients still running after the end (should be none)

    @property
    def seconds(self) -> float:
        """From the start of the loop to the last answer."""
        return max((o.ended for o in self.outcomes), default=0.0) or 1e-9

    @cached_property
    def outcomes(self) -> list[Outcome]:
        """Every request of the loop (logins before it are left out), in order of start."""
        return sorted((o for c in self.run.clients for o in c.outcomes), key=lambda o: o.started)

    @property
    def failures(self) -> list[str]:
        return [f"client {c.number}: {c.failure}" for c in self.run.clients if c.failure]

    @property
    def creates(self) -> list[Submission]:
        return [s for c in self.run.clients for s in c.creates]

    @property
    def edits(self) -> list[Submission]:
        return [s for c in self.run.clients for s in c.edit_submissions]

    def figures(self, outcomes: list[Outcome] | None = None) -> dict:
        outcomes = self.outcomes if outcomes is None else outcomes
        latencies = sorted(o.seconds * 1000 for o in outcomes)
        statuses = Counter(str(o.status) if o.status else f"no answer ({o.error})"
                           for o in outcomes)
        return {
            "requests": len(outcomes),
            "seconds": round(self.seconds, 1),
            "rps": round(len(outcomes) / self.seconds, 1),
            "statuses": dict(sorted(statuses.items())),
            "5xx": sum(1 for o in outcomes if o.status and o.status >= 500),
            "503 page": sum(1 for o in outcomes if o.unavailable_page),
            "no answer": sum(1 for o in outcomes if o.status is None),
            "p50 ms": round(percentile(latencies, 50), 1),
            "p99 ms": round(percentile(latencies, 99), 1),
            "max ms": round(latencies[-1], 1) if latencies else 0.0,
            "creates": Counter(s.result for s in self.creates),
            "edits": Counter(s.result for s in self.edits),
        }

    def summary(self, title: str) -> str:
        figures = self.figures()
        kinds = Counter(o.kind for o in self.outcomes)
        lines = [
            f"{title}: {len(self.run.clients)} clients, {figures['seconds']} s",
            f"  requests {figures['requests']}  ({figures['rps']} per second)",
            f"  p50 {figures['p50 ms']} ms  p99 {figures['p99 ms']} ms  "
            f"max {figures['max ms']} ms",
            "  statuses " + ", ".join(f"{k}: {v}" for k, v in figures["statuses"].items()),
            f"  5xx {figures['5xx']} (of which our 503 page {figures['503 page']}), "
            f"no answer {figures['no answer']}",
            "  kinds " + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items())),
            "  creates " + ", ".join(f"{k}: {v}" for k, v in sorted(figures["creates"].items()))
            + "; edits " + ", ".join(f"{k}: {v}" for k, v in sorted(figures["edits"].items())),
            f"  the load client itself used {self.run.client_cpu_seconds:.0f} CPU seconds "
            f"({self.run.client_cpu_seconds / self.seconds:.0%} of one core)",
        ]
        return "\n".join(lines)

    # --- What the database holds --------------------------------------------------------

    def check_database(self, database_url: str) -> list[str]:
        """Compare the database with what was submitted; return the problems (none: all good)."""
        from app.scheduling.models import Appointment

        engine = sa.create_engine(database_url)
        try:
            with Session(engine) as session:
                rows = session.execute(
                    sa.select(
                        Appointment.id, Appointment.title, Appointment.start, Appointment.end,
                        Appointment.location, Appointment.owner_id,
                    ).where(Appointment.title.startswith(self.run.tag + " "))
                ).all()
        finally:
            engine.dispose()
        zones = {user.email: ZoneInfo(user.timezone) for user in self.run.users}
        zone_of = {
            s.title: zones[c.user.email] for c in self.run.clients for s in c.creates
        }
        by_title = defaultdict(list)
        for row in rows:
            by_title[row.title].append(row)
        states = defaultdict(list)  # appointment id -> the values it may hold
        for submission in self.creates:
            if submission.appointment_id is not None:
                states[submission.appointment_id].append(submission)
        for submission in self.edits:
            if submission.result in ("acknowledged", "in doubt"):
                states[submission.appointment_id].append(submission)

        problems = []
        submitted = set()
        for create in self.creates:
            submitted.add(create.title)
            found = by_title.get(create.title, [])
            if create.result == "acknowledged":
                if len(found) != 1:
                    problems.append(f"{create.title}: acknowledged, found {len(found)} times")
                    continue
                row = found[0]
                if row.id != create.appointment_id:
                    problems.append(f"{create.title}: id {row.id}, acknowledged as "
                                    f"{create.appointment_id}")
                zone = zone_of[create.title]
                if not any(matches(row, state, zone) for state in states[row.id]):
                    problems.append(f"{create.title}: holds {row.start}-{row.end} "
                                    f"{row.location!r}, which was never submitted")
            elif create.result == "in doubt":
                if len(found) > 1:
                    problems.append(f"{create.title}: answer lost, found {len(found)} times")
                elif found and not matches(found[0], create, zone_of[create.title]):
                    problems.append(f"{create.title}: answer lost, stored otherwise")
            elif found:
                problems.append(f"{create.title}: refused ({create.result}), yet stored")
        for title in set(by_title) - submitted:
            problems.append(f"{title}: stored, never submitted")
        return problems


def matches(row, submission: Submission, zone: ZoneInfo) -> bool:
    def utc(value: str) -> datetime:
        return datetime.strptime(value, FORM_TIME).replace(tzinfo=zone)

    return (
        row.title == submission.title
        and row.start == utc(submission.start)
        and row.end == utc(submission.end)
        and row.location == submission.location
    )


def percentile(sorted_values: list[float], percent: float) -> float:
    """The nearest-rank percentile of an already sorted list (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(percent / 100 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]
