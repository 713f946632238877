"""Benchmark the calendar views against a bare reference page, on a small and a large table.

Builds a database per size, serves each with uWSGI from uwsgi.ini, logs in as the measured
user, and loads every page with wrk, alternating pages and datasets run by run, round after
round. Prints medians, ratios and the issue's targets; exits 1 when a target fails.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from bench import data, machine, report
from bench.load import Measurement, run_wrk
from bench.report import RunKey, Runs
from bench.scenario import MEASURED_USER_EMAIL, REFERENCE, Page, measured_pages
from bench.server import Server, log_in, status_of, uwsgi_server

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PASSWORD = "bench password, the same for every user"
WARM_UP_CONNECTIONS = 16


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    pages = [page.name for page in measured_pages()]
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--admin", action="store_true",
                        help="benchmark the admin appointment list on PostgreSQL instead "
                             "(bench/admin.py; python -m bench --admin --help for its options)")
    parser.add_argument("--keepalive", action="store_true",
                        help="compare the embedded server's one request per connection with "
                             "uWSGI's keep-alive socket (bench/keepalive.py)")
    parser.add_argument("--feed", action="store_true",
                        help="time the calendar feed instead: a 304 against the full feed for "
                             "5,000 appointments, in-process (bench/feed.py)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000],
                        help="appointments in each dataset, the measured user's series "
                             "besides (default: 10000 1000000)")
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16],
                        help="wrk connections (default: 1 16)")
    parser.add_argument("--pages", nargs="+", choices=pages, default=pages,
                        help="pages to measure (default: all)")
    parser.add_argument("--seconds", type=whole_seconds, default=4,
                        help="length of a run (default: 4)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each page (default: 5)")
    parser.add_argument("--warm-up", type=whole_seconds, default=2,
                        help="seconds of load on each page before measuring (default: 2)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR,
                        help="folder for the JSON results (default: bench/results)")
    options = parser.parse_args(argv)
    if REFERENCE not in options.pages:
        options.pages.insert(0, REFERENCE)
    return options


def whole_seconds(text: str) -> int:
    """wrk takes whole seconds."""
    seconds = int(text)
    if seconds < 1:
        raise argparse.ArgumentTypeError("at least 1 second")
    return seconds


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def new_secrets() -> dict[str, str]:
    """Fresh production secrets for this run, shared by the data and the servers."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "SECURITY_PASSWORD_SALT": secrets.token_urlsafe(48),
    }


def build_databases(
    sizes: list[int], workdir: Path, server_secrets: dict[str, str]
) -> tuple[dict[int, Path], data.Grid]:
    """Build one database per size, all users sharing one password hashed once; return them
    and what the measured user's month grid holds, the same in each."""
    paths = {size: workdir / f"sched-{size}.db" for size in sizes}
    password_hash = None
    grids = set()
    for size, path in paths.items():
        started = time.monotonic()
        app = data.production_app(path, server_secrets)
        password_hash = password_hash or data.hash_bench_password(app, PASSWORD)
        data.build_database(app, size, password_hash)
        grid = data.grid_counts(app)
        grids.add(grid)
        say(f"Built {size:,} appointments and {data.SERIES} series in "
            f"{time.monotonic() - started:.0f} s; the measured user has {grid.appointments} "
            f"appointments and {grid.occurrences} occurrences in the month's 42-day grid.")
    if len(grids) > 1:
        raise SystemExit(f"The measured user's month differs between the datasets: {grids}")
    return paths, grids.pop()


def served_pages(
    servers: dict[int, Server], cookies: dict[int, str], pages: list[Page]
) -> list[Page]:
    """Keep the pages that every server answers with 200 for the logged-in user."""
    kept = []
    for page in pages:
        statuses = {status_of(server.url, page.path, cookies[size])
                    for size, server in servers.items()}
        if statuses == {200}:
            kept.append(page)
        elif page.name == REFERENCE:
            raise SystemExit(f"The reference page answered {statuses}; is the login working?")
        else:
            say(f"Not measured: {page.name} ({page.path}) answered {sorted(statuses)}.")
    return kept


def measure(
    servers: dict[int, Server], cookies: dict[int, str], pages: list[Page],
    options: argparse.Namespace,
) -> Runs:
    """Load every page on every server, one run each per round and number of connections."""
    runs: Runs = {}
    total = options.rounds * len(options.connections) * len(pages) * len(servers)
    minutes = total * options.seconds / 60
    say(f"Measuring: {total} runs of {options.seconds:g} s, about {minutes:.0f} min.")
    for number in range(1, options.rounds + 1):
        for connections in options.connections:
            for page, size in run_order(number, pages, list(servers)):
                result = watched_run(servers[size], page.path, cookies[size], connections,
                                     options.seconds)
                runs.setdefault(RunKey(size, connections, page.name), []).append(result)
                say(progress_line(number, size, connections, page.name, result))
    return runs


def watched_run(
    server: Server, path: str, cookie: str, connections: int, seconds: int
) -> Measurement:
    """Run wrk once, noting what else happened meanwhile: respawns, other processes' CPU."""
    server.new_respawns()
    before = machine.sample()
    try:
        result = run_wrk(server.url + path, cookie, connections, seconds)
    finally:
        server.ensure_running()
    return replace(
        result,
        respawns=server.new_respawns(),
        others_cores=machine.others_cores(before, machine.sample()),
    )


def run_order(number: int, pages: list[Page], sizes: list[int]) -> list[tuple[Page, int]]:
    """Pages, and datasets within a page, side by side; reversed every other round, so that
    a slow drift of the machine's speed favours neither side of a ratio."""
    order = [(page, size) for page in pages for size in sizes]
    return order if number % 2 else order[::-1]


def progress_line(number: int, size: int, connections: int, page: str, m: Measurement) -> str:
    notes = "".join(
        f", {count} {what}" for count, what in ((m.respawns, "respawned"), (m.errors, "errors"))
        if count
    )
    if m.others_cores >= report.BUSY_CORES:
        notes += f", others used {m.others_cores:.1f} cores"
    return (f"  round {number}  {size:>9,}  c{connections:<3} {page:<10} {m.rps:8.1f} req/s  "
            f"p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms{notes}")


def warm_up(
    servers: dict[int, Server], cookies: dict[int, str], pages: list[Page], seconds: int
) -> None:
    """Load each page briefly, so every worker has compiled its templates and queries."""
    for page in pages:
        for size, server in servers.items():
            run_wrk(server.url + page.path, cookies[size], WARM_UP_CONNECTIONS, seconds)


def save_results(results: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bench-{results['started'][:19].replace(':', '')}.json"
    path.write_text(json.dumps(results, indent=2))
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--admin" in argv:
        from bench import admin

        return admin.main([arg for arg in argv if arg != "--admin"])
    if "--keepalive" in argv:
        from bench import keepalive

        return keepalive.main([arg for arg in argv if arg != "--keepalive"])
    if "--feed" in argv:
        from bench import feed

        return feed.main([arg for arg in argv if arg != "--feed"])
    options = parse_arguments(argv)
    started = datetime.now(timezone.utc)
    pages = [page for page in measured_pages() if page.name in options.pages]
    sizes = sorted(set(options.sizes))
    server_secrets = new_secrets()
    with tempfile.TemporaryDirectory(prefix="sched-bench-") as workdir, ExitStack() as stack:
        databases, grid = build_databases(sizes, Path(workdir), server_secrets)
        servers = {
            size: stack.enter_context(
                uwsgi_server(path, server_secrets, Path(workdir) / f"uwsgi-{size}.log")
            )
            for size, path in databases.items()
        }
        cookies = {size: log_in(server.url, MEASURED_USER_EMAIL, PASSWORD)
                   for size, server in servers.items()}
        pages = served_pages(servers, cookies, pages)
        warm_up(servers, cookies, pages, options.warm_up)
        runs = measure(servers, cookies, pages, options)

    names = [page.name for page in pages]
    checks = report.target_checks(runs, sizes, options.connections, names)
    print(report.render(runs, sizes, options.connections, names, options.rounds,
                        options.seconds, checks, data.describe(grid)))
    results = {
        "started": started.isoformat(),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()},
        "measured_user": {"series": data.SERIES,
                          "exceptions_per_series": data.EXCEPTIONS_PER_SERIES,
                          "in_grid": grid._asdict()},
        **report.as_json(runs, sizes, options.connections, names, checks),
    }
    say(f"Results saved in {save_results(results, options.results)}")
    return 0 if all(check.passed for check in checks) else 1
