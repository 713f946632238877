"""Load and faults against real uWSGI from uwsgi.ini (2 workers x 2 threads), on SQLite and on
PostgreSQL: 50 logged-in clients viewing, creating and editing, while a worker is killed, the
database restarts, turns read-only or fills its disk. ``make test-load`` runs them (a few
minutes), on SQLite then on a throw-away PostgreSQL cluster; the figures are printed at the end.

Whatever happens, nothing acknowledged is lost or doubled (``LoadResult.check_database``).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import time
from contextlib import closing

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRESQL_SERVER
from tests.core.test_serving import accepting_workers, served_by, wait_until
from tests.load.client import Load, LoadResult, Outcome
from tests.load.conftest import add_users, serving
from tests.support.postgres import postgresql_url
from tests.support.tmpfs import fill, small_disk

pytestmark = pytest.mark.load

CLIENTS = int(os.environ.get("SCHED_LOAD_CLIENTS", "50"))
SECONDS = float(os.environ.get("SCHED_LOAD_SECONDS", "60"))  # the steady load
FAULT_SECONDS = float(os.environ.get("SCHED_LOAD_FAULT_SECONDS", "30"))  # with a fault
THREADS = 2  # per worker, in uwsgi.ini
RECOVERY = 5  # seconds after the database is back by which every request succeeds again
PAGE_VIEWS = {"list", "month", "week", "day", "agenda", "detail", "create-form", "edit-form"}
WRITES = {"create", "edit"}
# What each kind of request answers when all is well: pages 200, a saved form redirects (302)
# to the appointment, and an edit of an appointment edited meanwhile is refused with 409.
EXPECTED = {**{kind: {200} for kind in PAGE_VIEWS}, "create": {302}, "edit": {302, 409}}


def unexpected(outcomes: list[Outcome]) -> list[Outcome]:
    """The requests that did not answer what a healthy service answers."""
    return [o for o in outcomes if o.status not in EXPECTED[o.kind]]


def between(outcomes: list[Outcome], start: float, end: float) -> list[Outcome]:
    """The requests that started and ended within [start, end]."""
    return [o for o in outcomes if start <= o.started and o.ended <= end]


def sleep_until(load: Load, seconds: float) -> None:
    time.sleep(max(0.0, seconds - load.elapsed()))


def assert_healthy_run(result: LoadResult, database_url: str) -> None:
    """No client failed or hung, and the database holds exactly what was acknowledged."""
    assert not result.failures, result.failures[:5]
    assert result.stuck == 0
    assert result.check_database(database_url) == []


def assert_only_our_503(outcomes: list[Outcome]) -> None:
    """Every 5xx is our 503 page with Retry-After; every request got an answer."""
    other = [o for o in outcomes if o.status is None or (o.status >= 500 and not
                                                         o.unavailable_page)]
    assert not other, other[:5]


# --------------------------------------------------------------------------------------------
# Steady load: (a) SQLite and (b) PostgreSQL, whichever the run is on
# --------------------------------------------------------------------------------------------


def test_steady_load_serves_every_request_and_keeps_every_appointment(
    server, load_users, database_url, report
):
    load = Load(server.url, load_users, CLIENTS, SECONDS)
    load.start()
    result = load.join()
    report(result, f"steady load, {CLIENTS} clients x {SECONDS:.0f} s")

    assert unexpected(result.outcomes) == []
    assert result.figures()["creates"]["acknowledged"] >= 100  # it did some work
    assert_healthy_run(result, database_url)


# --------------------------------------------------------------------------------------------
# (c) A worker killed under load
# --------------------------------------------------------------------------------------------


def test_a_worker_killed_under_load_is_replaced_and_only_its_requests_fail(
    server, load_users, database_url, report
):
    load = Load(server.url, load_users, CLIENTS, FAULT_SECONDS)
    load.start()
    try:
        sleep_until(load, FAULT_SECONDS / 3)
        server.wait_for_workers()  # not while one is being recycled after its max-requests
        before = accepting_workers(server.stats_socket)
        victim = min(before)
        log_size = len(server.log.read_text())
        killed_at = load.elapsed()
        os.kill(before[victim], signal.SIGKILL)

        def replaced() -> dict[int, int] | None:
            workers = accepting_workers(server.stats_socket)
            new = workers.keys() == before.keys() and workers[victim] != before[victim]
            return workers if new else None

        after = wait_until(
            replaced, 30,
            lambda: f"worker {victim} was not replaced:\n{server.log.read_text()[-3000:]}",
        )
        replaced_at = load.elapsed()
    finally:
        result = load.join()
    outcomes = result.outcomes
    lost = [o for o in outcomes if o.status is None]
    report(
        result, f"worker killed at {killed_at:.1f} s",
        f"replaced (the new worker accepting) {replaced_at - killed_at:.1f} s later; "
        f"requests lost: {len(lost)}",
    )
    # At most the requests the worker's threads were serving; they were in flight at the kill.
    assert len(lost) <= THREADS, lost
    assert all(o.started <= killed_at + 0.1 and o.ended >= killed_at for o in lost), lost
    assert unexpected([o for o in outcomes if o.status is not None]) == []
    # The new worker serves (its pid in the request log); no other worker died.
    assert str(after[victim]) in served_by(server.log, log_size)
    log = server.log.read_text()
    assert f"worker {victim} (pid: {before[victim]}) died, killed by signal 9" in log
    assert log.count("died") == 1
    assert_healthy_run(result, database_url)


# --------------------------------------------------------------------------------------------
# (d) PostgreSQL restarted under load
# --------------------------------------------------------------------------------------------

OUTAGE = 5  # seconds the server stays down


@pytest.mark.postgresql_only(reason="restarts the PostgreSQL server")
def test_postgresql_restarted_under_load_answers_503_then_recovers_by_itself(
    server, load_users, database_url, cluster, report
):
    load = Load(server.url, load_users, CLIENTS, FAULT_SECONDS)
    load.start()
    try:
        sleep_until(load, FAULT_SECONDS / 4)
        master = server.master_pid()
        stopping_at = load.elapsed()
        try:
            cluster.stop()
            down_at = load.elapsed()
            time.sleep(OUTAGE)
        finally:
            starting_at = load.elapsed()
            cluster.start()
        back_at = load.elapsed()
    finally:
        result = load.join()
    outcomes = result.outcomes
    during = between(outcomes, down_at, starting_at)
    served_again = min(
        (o.ended for o in outcomes if o.started >= back_at and o.status in (200, 302)),
        default=None,
    )
    report(
        result, f"PostgreSQL stopped at {stopping_at:.1f} s, started again at {back_at:.1f} s",
        f"while down: {len(during)} requests, {sum(o.unavailable_page for o in during)} our 503 "
        f"page; first served again {served_again - back_at:.2f} s after the restart"
        if served_again else "never served again",
    )

    assert_only_our_503(outcomes)
    # Down: every request gets the 503 page (the logged-in user cannot even be loaded).
    assert during and all(o.unavailable_page for o in during), during[:5]
    # Back: served again within seconds.
    assert served_again and served_again <= back_at + RECOVERY
    assert unexpected([o for o in outcomes if o.started >= back_at + RECOVERY]) == []
    assert unexpected([o for o in outcomes if o.ended <= stopping_at]) == []
    # uWSGI was not restarted, and no worker died (a worker may have been recycled after its
    # max-requests: the outage's quick 503 answers count too).
    assert server.master_pid() == master
    assert "died" not in server.log.read_text()
    assert_healthy_run(result, database_url)


# --------------------------------------------------------------------------------------------
# (e) The database turns read-only (PostgreSQL) or its disk fills up (SQLite) under load
# --------------------------------------------------------------------------------------------

FAULT = 8  # seconds the fault lasts


def fault_figures(outcomes: list[Outcome], fault_at: float, fixed_at: float) -> str:
    during = between(outcomes, fault_at, fixed_at)
    views = [o for o in during if o.kind in PAGE_VIEWS]
    writes = [o for o in during if o.kind in WRITES]
    return (
        f"during the fault: page views {len(views)}, of which served "
        f"{sum(o.status == 200 for o in views)}; writes {len(writes)}, of which refused with "
        f"our 503 page {sum(o.unavailable_page for o in writes)}"
    )


def assert_writes_refused_and_reads_served(
    outcomes: list[Outcome], fault_at: float, fixed_at: float, all_writes_refused: bool
) -> None:
    assert_only_our_503(outcomes)
    # Reads never fail.
    views = [o for o in outcomes if o.kind in PAGE_VIEWS]
    assert unexpected(views) == []
    writes = between([o for o in outcomes if o.kind in WRITES], fault_at + 1, fixed_at)
    refused = [o for o in writes if o.unavailable_page]
    assert refused, "no write was refused"
    if all_writes_refused:
        assert refused == writes, [o for o in writes if not o.unavailable_page][:5]
    assert unexpected([o for o in outcomes if o.started >= fixed_at + RECOVERY]) == []
    assert unexpected([o for o in outcomes if o.ended <= fault_at]) == []


@pytest.mark.postgresql_only(reason="turns the PostgreSQL server read-only")
def test_read_only_postgresql_under_load_refuses_writes_and_keeps_serving_reads(
    server, load_users, database_url, report
):
    """As a fail-over to a standby would: every write is refused, every read still served."""
    admin = sa.create_engine(postgresql_url(POSTGRESQL_SERVER), isolation_level="AUTOCOMMIT")

    def read_only(on: bool) -> None:
        with admin.connect() as connection:
            # This session's own setting: ALTER SYSTEM may not run read-only.
            connection.exec_driver_sql("SET default_transaction_read_only = off")
            if on:
                connection.exec_driver_sql("ALTER SYSTEM SET default_transaction_read_only = on")
            else:
                connection.exec_driver_sql("ALTER SYSTEM RESET default_transaction_read_only")
            connection.exec_driver_sql("SELECT pg_reload_conf()")

    load = Load(server.url, load_users, CLIENTS, FAULT_SECONDS)
    load.start()
    try:
        sleep_until(load, FAULT_SECONDS / 4)
        try:
            read_only(True)
            fault_at = load.elapsed()
            time.sleep(FAULT)
        finally:
            read_only(False)
            admin.dispose()
        fixed_at = load.elapsed()
    finally:
        result = load.join()
    report(result, f"PostgreSQL read-only {fault_at:.1f}-{fixed_at:.1f} s",
           fault_figures(result.outcomes, fault_at, fixed_at))

    assert_writes_refused_and_reads_served(result.outcomes, fault_at, fixed_at, True)
    assert_healthy_run(result, database_url)


@pytest.mark.sqlite_only(reason="fills the disk of a SQLite file")
def test_full_disk_under_load_refuses_writes_keeps_serving_reads_and_corrupts_nothing(
    database_url, tmp_path, report
):
    with small_disk(tmp_path / "disk", "256m") as disk:
        path = disk / "sched.db"
        shutil.copy(make_url(database_url).database, path)
        url = f"sqlite:///{path}"
        users = add_users(url)
        (tmp_path / "uwsgi").mkdir()
        with serving(url, tmp_path / "uwsgi") as server:
            load = Load(server.url, users, CLIENTS, FAULT_SECONDS)
            load.start()
            try:
                sleep_until(load, FAULT_SECONDS / 4)
                try:
                    fill(disk / "filler")
                    fault_at = load.elapsed()
                    time.sleep(FAULT)
                finally:
                    (disk / "filler").unlink(missing_ok=True)
                fixed_at = load.elapsed()
            finally:
                result = load.join()
        report(result, f"SQLite disk full {fault_at:.1f}-{fixed_at:.1f} s",
               fault_figures(result.outcomes, fault_at, fixed_at))

        # What is left of the write-ahead log may still take a few writes.
        assert_writes_refused_and_reads_served(result.outcomes, fault_at, fixed_at, False)
        assert_healthy_run(result, url)
        with closing(sqlite3.connect(path)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
