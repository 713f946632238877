"""Benchmark the calendar feed: a 304 against the full feed, for a user with 5,000 appointments.

In one process, with the production settings, on a SQLite database built by the real
migrations: the measured user has 5,000 appointments, seven a day for two years around today,
about 3,200 of them in the feed's window. Each round requests, through the Flask test client,
the full feed (capped at FEED_MAX_EVENTS), the same feed with its ETag in If-None-Match (304),
and, for comparison, the feed without its window and cap (every appointment, as before they
existed) and the health check (one query, a tiny answer: the yardstick), in an order that
alternates from round to round. Prints the medians and the ratios, and the number of queries
a 304 costs. No HTTP server: this is the app's own time per request,
the part four parallel requests used to hold both uWSGI workers with.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from contextlib import nullcontext
from datetime import datetime, time as day_time, timedelta, timezone
from pathlib import Path
from statistics import median
from unittest import mock

import flask_migrate
from sqlalchemy import event, insert

from app import create_app
from app.accounts.models import User
from app.extensions import db
from app.scheduling import feed
from app.scheduling.models import Appointment
from bench.run import RESULTS_DIR, new_secrets, say
from bench.scenario import TIMEZONE

APPOINTMENTS = 5_000
PER_DAY = 7
ROUNDS = 30
WARM_UP = 3
# The feed as it was before its bounds: every appointment, whenever it is.
UNBOUNDED = {"FEED_MAX_EVENTS": 10**9, "FEED_DAYS_BEFORE": 10**5, "FEED_DAYS_AFTER": 10**5}
KINDS = ("full", "not-modified", "unbounded", "healthz")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --feed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appointments", type=int, default=APPOINTMENTS,
                        help=f"the measured user's appointments (default: {APPOINTMENTS})")
    parser.add_argument("--rounds", type=int, default=ROUNDS,
                        help=f"requests of each kind (default: {ROUNDS})")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR,
                        help="folder for the JSON results (default: bench/results)")
    return parser.parse_args(argv)


def build(appointments: int) -> str:
    """Migrate the app's empty database, add the measured user and their appointments; return
    the user's feed token."""
    flask_migrate.upgrade()
    user = User(email="feed@example.com", active=True, fs_uniquifier=uuid.uuid4().hex,
                full_name="Bench User", timezone=TIMEZONE)
    token = user.regenerate_calendar_token()
    db.session.add(user)
    db.session.commit()
    now = datetime.now(timezone.utc)
    first_day = now.date() - timedelta(days=appointments // PER_DAY // 2)
    rows = []
    for n in range(appointments):
        day, slot = divmod(n, PER_DAY)
        start = datetime.combine(first_day + timedelta(days=day), day_time(8 + slot, 30),
                                 tzinfo=timezone.utc)
        rows.append({"owner_id": user.id, "title": f"Appointment {n}", "start": start,
                     "end": start + timedelta(minutes=45), "all_day": False,
                     "location": "Room 2.14" if n % 3 else "", "description": "",
                     "created": now, "modified": now})
    db.session.execute(insert(Appointment), rows)
    user.longest_appointment_seconds = 45 * 60
    db.session.commit()
    return token


def timed_request(client, url: str, kind: str, etag: str) -> tuple[float, int, int]:
    """Request the feed as ``kind`` says; return seconds, status and body size."""
    headers = {"If-None-Match": etag} if kind == "not-modified" else {}
    if kind == "healthz":
        url = "/healthz"
    with mock.patch.multiple(feed, **UNBOUNDED) if kind == "unbounded" else nullcontext():
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        seconds = time.perf_counter() - started
    expected = 304 if kind == "not-modified" else 200
    if response.status_code != expected:
        raise RuntimeError(f"the {kind} feed answered {response.status_code}, not {expected}")
    return seconds, response.status_code, len(response.data)


def queries_of(client, url: str, etag: str) -> int:
    statements = []

    def record(*args) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get(url, headers={"If-None-Match": etag})
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="sched-bench-feed-") as workdir, \
            mock.patch.dict(os.environ, new_secrets()):
        app = create_app("production", {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(workdir) / 'feed.db'}",
            # Every request here has the same token: measure the limit's cost, not its 429.
            "RATELIMIT_CALENDAR_FEED": "1000000 per hour",
        })
        with app.app_context():
            say(f"Building a user with {options.appointments:,} appointments...")
            token = build(options.appointments)
            client = app.test_client()
            url = f"/calendar/feed/{token}.ics"
            first = client.get(url)
            etag = first.headers["ETag"]
            events = first.data.count(b"BEGIN:VEVENT")
            for _ in range(WARM_UP):
                for kind in KINDS:
                    timed_request(client, url, kind, etag)
            times: dict[str, list[float]] = {kind: [] for kind in KINDS}
            sizes: dict[str, int] = {}
            for number in range(options.rounds):
                order = KINDS if number % 2 == 0 else tuple(reversed(KINDS))
                for kind in order:
                    seconds, _status, size = timed_request(client, url, kind, etag)
                    times[kind].append(seconds)
                    sizes[kind] = size
            queries = queries_of(client, url, etag)
            db.session.remove()
            db.engine.dispose()

    medians = {kind: median(values) * 1000 for kind, values in times.items()}
    print(f"Calendar feed of a user with {options.appointments:,} appointments, "
          f"{options.rounds} requests of each kind, medians (in-process, production settings):")
    print(f"  full feed, {events:,} events (cap {feed.FEED_MAX_EVENTS:,}):  "
          f"{medians['full']:8.2f} ms  {sizes['full']:>9,} bytes")
    print(f"  304 Not Modified ({queries} query):               "
          f"{medians['not-modified']:8.2f} ms  {sizes['not-modified']:>9,} bytes")
    print(f"  without window and cap, {options.appointments:,} events:  "
          f"{medians['unbounded']:8.2f} ms  {sizes['unbounded']:>9,} bytes")
    print(f"  /healthz, the yardstick (1 query):             "
          f"{medians['healthz']:8.2f} ms")
    print(f"  full / 304: {medians['full'] / medians['not-modified']:.0f} x;  "
          f"unbounded / full: {medians['unbounded'] / medians['full']:.1f} x;  "
          f"304 / healthz: {medians['not-modified'] / medians['healthz']:.2f} x")
    results = {
        "started": started.isoformat(), "appointments": options.appointments,
        "rounds": options.rounds, "events_in_full_feed": events, "queries_for_304": queries,
        "median_ms": medians, "bytes": sizes,
    }
    options.results.mkdir(parents=True, exist_ok=True)
    path = options.results / f"feed-{started.isoformat()[:19].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2))
    say(f"Results saved in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
