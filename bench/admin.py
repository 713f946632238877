"""Benchmark the admin appointment list on PostgreSQL with 1,000,000 appointments.

Starts a throw-away PostgreSQL cluster (the test suite's, tests/support/postgres.py), fills it
through the real migrations and COPY (bench/pgdata.py), serves it with uWSGI from uwsgi.ini with
the bench entry point (so the bare reference page is there), logs in as a staff member, and
loads every admin page with wrk over one connection, a run of the reference page before and
after each, round after round. Prints each page's p50 and p99 and its p50 over the neighbouring
reference runs', judged against the issue's limits: at most 20 x the reference page's latency,
never over 60 x. Then requests each page once with PostgreSQL logging its statements, and runs
the slowest statement of each page over the limit under EXPLAIN ANALYZE. Exits 1 when a page
fails. The cluster is stopped and deleted at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import textwrap
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from statistics import median

import psycopg

from bench import data, machine, pgdata, pgprofile
from bench.admin_scenario import AdminPage, admin_pages, reference_page
from bench.load import Measurement, run_wrk
from bench.run import PASSWORD, RESULTS_DIR, new_secrets, say, watched_run, whole_seconds
from bench.scenario import MEASURED_USER_EMAIL, REFERENCE
from bench.server import Server, log_in, request, uwsgi_server
from tests.support.postgres import Cluster, temporary_cluster, terminate_as_interrupt

SIZE = 1_000_000
PASS_RATIO = 20.0  # the issue: each page within 20 x the reference page's latency...
HARD_RATIO = 60.0  # ...and none over 60 x
CONNECTIONS = 1
PROFILED_REQUESTS = 3
WARM_UP_CONNECTIONS = 4  # uwsgi.ini's 2 processes x 2 threads: every worker and connection
PLAN_LINES = re.compile(r"Seq Scan|Index|Sort|Limit|Join|Loop|Filter:|Rows Removed|Execution Time")
SHOWN_PLAN_LINES = 14
# PostgreSQL settings recorded with the results.
SETTINGS_SHOWN = ("server_version", "shared_buffers", "work_mem", "effective_cache_size", "jit",
                  "max_parallel_workers_per_gather", "random_page_cost", "fsync")
# The cluster is the tests' (durability off), with what a million rows need besides: PostgreSQL's
# own WAL sizes (the tests' small ones would checkpoint all through the load), a database of its
# own, and a folder on disk in /tmp, not in memory. Statement logging is not set on the command
# line, which would override ALTER SYSTEM: bench/pgprofile.py switches it on and off.
CLUSTER_SETTINGS = {"max_wal_size": "1GB", "min_wal_size": "80MB"}
DATABASE = "sched_bench"
CLUSTER_PARENT = Path("/tmp")
CLUSTER_PREFIX = "sched-bench-pg-"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    names = [page.name for page in admin_pages(edit_id=1)]
    parser = argparse.ArgumentParser(prog="python -m bench --admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=SIZE,
                        help=f"appointments in the table (default: {SIZE})")
    parser.add_argument("--pages", nargs="+", choices=names, default=names, metavar="PAGE",
                        help="admin pages to measure (default: all): " + ", ".join(names))
    parser.add_argument("--seconds", type=whole_seconds, default=2,
                        help="length of a run (default: 2)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each page (default: 3)")
    parser.add_argument("--warm-up", type=whole_seconds, default=1,
                        help="seconds of load on each page before measuring (default: 1)")
    parser.add_argument("--no-profile", action="store_true",
                        help="skip the logged requests per page and the EXPLAIN ANALYZE")
    parser.add_argument("--explain-all", action="store_true",
                        help="EXPLAIN ANALYZE the slowest statement of every page, not only "
                             "of the pages over the limit")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR,
                        help="folder for the JSON results and plans (default: bench/results)")
    options = parser.parse_args(argv)
    if options.rounds < 1:
        parser.error("--rounds must be at least 1")
    return options


# --- Measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One wrk run of a page, and the reference page's p50 in the runs either side of it."""

    measurement: Measurement
    reference_p50_ms: float

    @property
    def ratio(self) -> float:
        return self.measurement.p50_ms / self.reference_p50_ms


def verify(server: Server, cookie: str, pages: list[AdminPage]) -> tuple[list[AdminPage], dict]:
    """Keep the pages that answer 200 with what they should show; say why the others do not."""
    kept, rejected = [], {}
    for page in pages:
        status, _, body = request(server.url, "GET", page.path, cookie=cookie)
        problems = [f"status {status}"] if status != 200 else page.problems(body)
        if problems:
            rejected[page.name] = problems
            say(f"Not measured: {page.name} ({page.path}): {'; '.join(problems)}")
        else:
            kept.append(page)
    return kept, rejected


def warm_up(server: Server, cookie: str, pages: list[AdminPage], seconds: int) -> None:
    """Load each page briefly on every worker: templates compiled, statements prepared."""
    for page in pages:
        run_wrk(server.url + page.path, cookie, WARM_UP_CONNECTIONS, seconds)


def measure(
    server: Server, cookie: str, reference: AdminPage, pages: list[AdminPage],
    options: argparse.Namespace,
) -> tuple[dict[str, list[Run]], list[Measurement]]:
    """Reference, page, reference, page, ... reference, each round; reversed every other round,
    so that a slow drift of the machine's speed favours no page."""
    runs: dict[str, list[Run]] = {page.name: [] for page in pages}
    references: list[Measurement] = []
    total = options.rounds * (2 * len(pages) + 1)
    say(f"Measuring: {total} runs of {options.seconds} s with {CONNECTIONS} connection, "
        f"about {total * options.seconds / 60:.0f} min.")

    def one(page: AdminPage, number: int) -> Measurement:
        result = watched_run(server, page.path, cookie, CONNECTIONS, options.seconds)
        notes = f", {result.errors} errors" if result.errors else ""
        if result.others_cores >= 0.2:
            notes += f", others used {result.others_cores:.1f} cores"
        say(f"  round {number}  {page.name:<20} {result.p50_ms:8.2f} ms p50 "
            f"{result.p99_ms:8.2f} ms p99  {result.rps:7.1f} req/s{notes}")
        return result

    for number in range(1, options.rounds + 1):
        order = pages if number % 2 else pages[::-1]
        before = one(reference, number)
        references.append(before)
        for page in order:
            result = one(page, number)
            after = one(reference, number)
            references.append(after)
            runs[page.name].append(Run(result, (before.p50_ms + after.p50_ms) / 2))
            before = after
    return runs, references


# --- Judging -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    page: str
    path: str
    what: str
    extra: bool
    p50_ms: float
    p99_ms: float
    rps: float
    ratio: float | None  # median over the rounds of p50 / the neighbouring reference runs' p50
    verdict: str
    errors: int
    respawns: int
    others_cores: float
    database_ms: float | None = None  # one logged request: what PostgreSQL spent on it
    statements: int | None = None


def verdict(ratio: float) -> str:
    if ratio > HARD_RATIO:
        return "FAIL-HARD"
    return "PASS" if ratio <= PASS_RATIO else "FAIL"


def summarize(
    pages: list[AdminPage], runs: dict[str, list[Run]], references: list[Measurement],
    reference: AdminPage,
) -> list[Row]:
    rows = [Row(
        page=reference.name, path=reference.path, what=reference.what, extra=False,
        p50_ms=median(m.p50_ms for m in references), p99_ms=median(m.p99_ms for m in references),
        rps=median(m.rps for m in references), ratio=None, verdict="",
        errors=sum(m.errors for m in references), respawns=sum(m.respawns for m in references),
        others_cores=median(m.others_cores for m in references),
    )]
    for page in pages:
        measured = runs[page.name]
        ms = [run.measurement for run in measured]
        ratio = median(run.ratio for run in measured)
        rows.append(Row(
            page=page.name, path=page.path, what=page.what, extra=page.extra,
            p50_ms=median(m.p50_ms for m in ms), p99_ms=median(m.p99_ms for m in ms),
            rps=median(m.rps for m in ms), ratio=ratio, verdict=verdict(ratio),
            errors=sum(m.errors for m in ms), respawns=sum(m.respawns for m in ms),
            others_cores=median(m.others_cores for m in ms),
        ))
    return rows


def with_profiles(rows: list[Row], profiles: dict[str, pgprofile.PageProfile]) -> list[Row]:
    out = []
    for row in rows:
        profile = profiles.get(row.page)
        if profile is None:
            out.append(row)
            continue
        queries = [s for s in profile.statements if s.sql.lstrip().lower().startswith(
            ("select", "with", "insert", "update", "delete"))]
        out.append(Row(**{**asdict(row), "database_ms": round(profile.database_ms, 2),
                          "statements": len(queries)}))
    return out


# --- Profiling ---------------------------------------------------------------------------------


def profile(
    cluster: Cluster, server: Server, cookie: str, pages: list[AdminPage],
    rows: list[Row], explain_all: bool,
) -> dict[str, pgprofile.PageProfile]:
    """One logged request per page; EXPLAIN ANALYZE of the slowest statement where it matters."""
    say(f"Profiling: {PROFILED_REQUESTS} requests per page with PostgreSQL logging every "
        "statement.")
    profiles = pgprofile.profile_pages(cluster, server.url, cookie,
                                       [(page.name, page.path) for page in pages],
                                       requests=PROFILED_REQUESTS)
    judged = {row.page: row.verdict for row in rows}
    for item in profiles:
        if item.slowest and (explain_all or judged.get(item.page) not in ("PASS", "")):
            item.slowest_plan = pgprofile.explain(cluster, item.slowest)
    return {item.page: item for item in profiles}


def statement_excerpt(statement: pgprofile.Statement, width: int = 700) -> str:
    """The statement from its FROM on (the select list is every column), parameters written in."""
    sql = " ".join(statement.literal_sql().split())
    start = sql.find(" FROM ")
    if sql.startswith("SELECT") and start > 0 and not sql.startswith("SELECT (SELECT"):
        sql = "SELECT ... " + sql[start + 1:]
    return sql if len(sql) <= width else sql[: width - 3] + "..."


def key_plan_lines(plan: str) -> list[str]:
    lines = [line for line in plan.splitlines() if PLAN_LINES.search(line)]
    return lines[:SHOWN_PLAN_LINES]


# --- Reporting ---------------------------------------------------------------------------------

LEGEND = f"""\
One connection (wrk -t1 -c1), medians of the rounds. x ref: the page's p50 over the mean p50 of
the reference runs just before and after it, median of the rounds. Limits from the issue: PASS
at most {PASS_RATIO:g} x, FAIL above, FAIL-HARD above {HARD_RATIO:g} x. * marks pages beyond the
issue's list, judged the same. db ms / queries: what PostgreSQL logged for a request's
statements (log_min_duration_statement = 0), median of {PROFILED_REQUESTS} requests after the
runs. wrk corrects for coordinated omission; with one connection a slow page makes few requests
a run, so its p99 is close to its worst."""


def render_table(rows: list[Row], title: str) -> str:
    heading = (f"{'page':<21} {'p50 ms':>8} {'p99 ms':>8} {'x ref':>7} {'verdict':<9} "
               f"{'req/s':>7} {'db ms':>7} {'queries':>7} {'errors':>6}  what")
    lines = [title, heading]
    for row in rows:
        ratio = f"{row.ratio:7.1f}" if row.ratio is not None else f"{'1':>7}"
        database = f"{row.database_ms:7.1f}" if row.database_ms is not None else f"{'-':>7}"
        queries = f"{row.statements:7d}" if row.statements is not None else f"{'-':>7}"
        name = row.page + (" *" if row.extra else "")
        lines.append(
            f"{name:<21} {row.p50_ms:8.2f} {row.p99_ms:8.2f} {ratio} {row.verdict:<9} "
            f"{row.rps:7.1f} {database} {queries} {row.errors:6d}  {row.what}"
        )
    return "\n".join(lines)


def render_profiles(rows: list[Row], profiles: dict[str, pgprofile.PageProfile]) -> str:
    sections = []
    for row in rows:
        item = profiles.get(row.page)
        if not item or not item.slowest_plan:
            continue
        slowest = item.slowest
        lines = [f"{row.page} ({row.verdict}, {row.ratio:.1f} x): slowest statement "
                 f"{slowest.ms:.1f} ms of {item.database_ms:.1f} ms in the database",
                 textwrap.indent(textwrap.fill(statement_excerpt(slowest), 96), "    ")]
        lines += ["    | " + line for line in key_plan_lines(item.slowest_plan)]
        sections.append("\n".join(lines))
    if not sections:
        return ""
    return "Where the time goes (EXPLAIN ANALYZE of the slowest statement; full plans in the " \
           "plans file):\n\n" + "\n\n".join(sections)


def render_summary(rows: list[Row], rejected: dict[str, list[str]]) -> str:
    judged = [row for row in rows if row.verdict]
    counts = {v: sum(row.verdict == v for row in judged) for v in ("PASS", "FAIL", "FAIL-HARD")}
    lines = [f"Pages: {counts['PASS']} pass, {counts['FAIL']} fail, "
             f"{counts['FAIL-HARD']} fail hard (over {HARD_RATIO:g} x)"
             + (f", {len(rejected)} not measured" if rejected else "")]
    for row in judged:
        if row.verdict != "PASS":
            lines.append(f"  {row.verdict:<9} {row.page:<20} {row.ratio:6.1f} x  {row.path}")
    for name, problems in rejected.items():
        lines.append(f"  NOT MEASURED {name}: {'; '.join(problems)}")
    busy = [row.page for row in rows if row.others_cores >= 0.2]
    if busy:
        lines.append(textwrap.fill(
            f"WARNING: other processes used CPU during the runs of {', '.join(busy)}; "
            "their figures are noisy.", 96))
    failed = [row.page for row in rows if row.errors]
    if failed:
        lines.append(f"WARNING: requests failed in the runs of {', '.join(failed)}.")
    return "\n".join(lines)


def database_facts(cluster: Cluster) -> dict:
    with psycopg.connect(cluster.conninfo) as connection:
        settings = dict(connection.execute(
            "SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings "
            "WHERE name = ANY(%s)", (list(SETTINGS_SHOWN),)).fetchall())
        appointments, table, total = connection.execute(
            "SELECT count(*), pg_size_pretty(pg_relation_size('appointment')), "
            "pg_size_pretty(pg_total_relation_size('appointment')) FROM appointment").fetchone()
        indexes = [row[0] for row in connection.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'appointment' ORDER BY 1")]
    return {"settings": settings, "appointments": appointments, "table_size": table,
            "with_indexes": total, "indexes": indexes}


def middle_appointment(cluster: Cluster) -> int:
    with psycopg.connect(cluster.conninfo) as connection:
        return connection.execute(
            "SELECT id FROM appointment ORDER BY id OFFSET (SELECT count(*) / 2 FROM appointment)"
            " LIMIT 1").fetchone()[0]


def save(results: dict, profiles: dict[str, pgprofile.PageProfile], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"admin-{results['started'][:19].replace(':', '')}"
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(results, indent=2))
    plans = [
        f"== {name}: {item.slowest.ms:.1f} ms\n{item.slowest.literal_sql()}\n\n{item.slowest_plan}"
        for name, item in profiles.items() if item.slowest_plan
    ]
    if plans:
        (folder / f"{stem}-plans.txt").write_text("\n\n".join(plans) + "\n")
    return path


# --- The whole run -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    try:
        with terminate_as_interrupt():
            return run(options)
    except KeyboardInterrupt:
        say("Interrupted; uWSGI and the PostgreSQL cluster were stopped and deleted.")
        return 130


def run(options: argparse.Namespace) -> int:
    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    server_secrets = new_secrets()
    profiles: dict[str, pgprofile.PageProfile] = {}
    with tempfile.TemporaryDirectory(prefix="sched-bench-admin-") as workdir, \
            ExitStack() as stack:
        cluster = stack.enter_context(temporary_cluster(
            settings=CLUSTER_SETTINGS, database=DATABASE, parent=CLUSTER_PARENT,
            prefix=CLUSTER_PREFIX))
        # Count the server's CPU as the benchmark's, not as other processes' (bench/machine.py).
        postmaster = cluster.postmaster_pid()
        machine.count_as_ours(postmaster)
        stack.callback(machine.stop_counting, postmaster)
        say(f"PostgreSQL cluster on 127.0.0.1:{cluster.port} in {cluster.folder} "
            f"({cluster.bin}); building {options.size:,} appointments:")
        pgdata.build_database(cluster, options.size, server_secrets, PASSWORD, say=say)
        facts = database_facts(cluster)
        grid = data.grid_counts(
            data.production_app_at(cluster.sqlalchemy_url, server_secrets)).appointments
        say(f"Built in {time.monotonic() - clock:.0f} s: {facts['table_size']} of table, "
            f"{facts['with_indexes']} with indexes; the staff user has {grid} appointments "
            f"in the reference month's grid.")
        server = stack.enter_context(
            uwsgi_server(cluster.url, server_secrets, Path(workdir) / "uwsgi.log"))
        cookie = log_in(server.url, MEASURED_USER_EMAIL, PASSWORD)
        reference = reference_page()
        pages = [page for page in admin_pages(middle_appointment(cluster))
                 if page.name in options.pages]
        kept, rejected = verify(server, cookie, [reference, *pages])
        if reference not in kept:
            raise SystemExit(f"The reference page failed: {rejected[REFERENCE]}")
        pages = [page for page in pages if page in kept]
        warm_up(server, cookie, [reference, *pages], options.warm_up)
        runs, references = measure(server, cookie, reference, pages, options)
        rows = summarize(pages, runs, references, reference)
        if not options.no_profile:
            profiles = profile(cluster, server, cookie, [reference, *pages], rows,
                               options.explain_all)
            rows = with_profiles(rows, profiles)
    say(f"Done in {time.monotonic() - clock:.0f} s; the cluster is stopped and deleted.")

    title = (f"Admin appointment list, {facts['appointments']:,} appointments on PostgreSQL "
             f"{facts['settings'].get('server_version', '')}, {CONNECTIONS} connection "
             f"(median of {options.rounds} runs of {options.seconds} s)")
    sections = [LEGEND, render_table(rows, title), render_profiles(rows, profiles),
                render_summary(rows, rejected)]
    print("\n\n".join(section for section in sections if section))
    results = {
        "started": started.isoformat(),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()},
        "limits": {"pass_ratio": PASS_RATIO, "hard_ratio": HARD_RATIO},
        "database": facts,
        "reference_runs": [m.as_dict() for m in references],
        "runs": [
            {"page": name, "round": number, "reference_p50_ms": r.reference_p50_ms,
             "ratio": r.ratio, **r.measurement.as_dict()}
            for name, measured in runs.items()
            for number, r in enumerate(measured, start=1)
        ],
        "summary": [asdict(row) for row in rows],
        "not_measured": rejected,
        "profiles": [item.as_dict() for item in profiles.values()],
    }
    say(f"Results saved in {save(results, profiles, options.results)}")
    passed = all(row.verdict in ("PASS", "") for row in rows) and not rejected
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
