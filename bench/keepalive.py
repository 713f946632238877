"""Keep-alive or not on the embedded server: ``python -m bench --keepalive``.

Clients that keep their connection open (requests.Session here, as most API clients, curl and
health checkers do) ask for the login page (over 4 KB: the size where uWSGI's keep-alive once
stalled 44 ms: docs/performance.md, "Keep-alive on the embedded server") and a stylesheet,
first one client, then 16 at once, against uwsgi.ini's http-socket (one request per connection,
``Connection: close``) and against uWSGI's keep-alive http11-socket, in turns (A, B, A, B...).
Printed: the median requests per second of the rounds, the median latency, and every error (a
reset, a timeout, a non-200).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import data
from bench.run import PASSWORD, new_secrets, say
from bench.server import uwsgi_server

VARIANTS = {"close": False, "keep-alive": True}  # name: served on the http11-socket
PATHS = ("/login", "/static/css/app.css")
REQUEST_TIMEOUT = 10
APPOINTMENTS = 1_000


@dataclass
class Run:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def load(url: str, clients: int, seconds: float) -> Run:
    """``clients`` threads, each with one requests.Session, for ``seconds``."""
    run = Run()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        with requests.Session() as session:
            n = 0
            while time.monotonic() < deadline:
                path = PATHS[n % len(PATHS)]
                n += 1
                started = time.perf_counter()
                try:
                    answer = session.get(url + path, timeout=REQUEST_TIMEOUT)
                    error = None if answer.status_code == 200 else f"{path}: {answer.status_code}"
                except requests.RequestException as failure:
                    error = f"{path}: {type(failure).__name__}: {failure}"
                elapsed = time.perf_counter() - started
                with lock:
                    run.requests += 1
                    run.latencies.append(elapsed)
                    if error:
                        run.errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench --keepalive", description=__doc__)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--seconds", type=float, default=5, help="length of a run (default: 5)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each (default: 3)")
    options = parser.parse_args(argv)
    server_secrets = new_secrets()
    results: dict[tuple[str, int], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="sched-keepalive-") as workdir:
        database = Path(workdir) / "sched.db"
        app = data.production_app(database, server_secrets)
        data.build_database(app, APPOINTMENTS, data.hash_bench_password(app, PASSWORD))
        servers = {}
        with ExitStack() as stack:
            for name, http11 in VARIANTS.items():
                log = Path(workdir) / f"uwsgi-{name}.log"
                servers[name] = stack.enter_context(
                    uwsgi_server(database, server_secrets, log, http11=http11)
                )
            for clients in options.connections:
                for _ in range(options.rounds):
                    for name, server in servers.items():
                        run = load(server.url, clients, options.seconds)
                        results.setdefault((name, clients), []).append(run)
                        rate = run.requests / options.seconds
                        say(f"{name:>10}, {clients:>2} clients: {rate:7.1f} requests/s, "
                            f"{len(run.errors)} errors")
    print()
    print(f"{'server':>10} {'clients':>7} {'req/s':>8} {'median ms':>9} {'errors':>6}")
    for (name, clients), runs in results.items():
        rate = statistics.median(run.requests / options.seconds for run in runs)
        latency = statistics.median(x for run in runs for x in run.latencies) * 1000
        errors = [error for run in runs for error in run.errors]
        print(f"{name:>10} {clients:>7} {rate:8.1f} {latency:9.1f} {len(errors):>6}")
        for error in sorted(set(errors))[:5]:
            print(f"{'':>19} {errors.count(error)} x {error}")
    return 0
