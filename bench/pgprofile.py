"""What a page asks PostgreSQL: its statements from the server's log, and their plans.

With log_min_duration_statement = 0 the server logs every statement it runs and how long it
took. A few requests per page, with the log switched on only meanwhile, give the page's
statements; the slowest is run again under EXPLAIN ANALYZE with the logged parameters.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field

import psycopg

from bench.server import status_of
from tests.support.postgres import Cluster

ENTRY_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \w+ \[(\d+)\] ", re.MULTILINE)
DURATION = re.compile(
    r"^LOG:  duration: ([\d.]+) ms  (parse|bind|execute|statement)(?: [^:]*)?: (.*)$", re.DOTALL
)
PARAMETERS = re.compile(r"^DETAIL:  parameters: (.*)$", re.DOTALL)
PARAMETER = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")
PLACEHOLDER = re.compile(r"\$(\d+)\b")
SETTLE_SECONDS = 0.3  # the app may close its transaction just after the response
EXPLAINABLE = ("select", "with")


@dataclass
class Statement:
    sql: str
    ms: float  # parse + bind (planning) + execute, as the server logged them
    parameters: dict[str, str] = field(default_factory=dict)

    def literal_sql(self) -> str:
        """The statement with its logged parameters written in, to EXPLAIN it."""
        return PLACEHOLDER.sub(lambda m: self.parameters.get(m.group(1), m.group(0)), self.sql)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class PageProfile:
    page: str
    path: str
    status: int
    statements: list[Statement]  # those of the request with the median database time
    slowest_plan: str | None = None
    requests_ms: list[float] = field(default_factory=list)  # database time of each request

    @property
    def database_ms(self) -> float:
        return sum(s.ms for s in self.statements)

    @property
    def slowest(self) -> Statement | None:
        return max(self.statements, key=lambda s: s.ms, default=None)

    def as_dict(self) -> dict:
        return {
            "page": self.page,
            "path": self.path,
            "status": self.status,
            "database_ms": round(self.database_ms, 3),
            "requests_ms": self.requests_ms,
            "statements": [s.as_dict() for s in self.statements],
            "slowest_plan": self.slowest_plan,
        }


def parse_log(text: str) -> list[Statement]:
    """Read statements from log_min_duration_statement's lines, in order.

    The extended protocol logs parse, bind and execute separately (bind includes planning);
    they are added up into the execute that follows them on the same backend.
    """
    starts = list(ENTRY_START.finditer(text))
    statements: list[Statement] = []
    pending: dict[str, float] = {}  # backend pid -> parse and bind milliseconds so far
    last: dict[str, Statement] = {}
    for n, start in enumerate(starts):
        end = starts[n + 1].start() if n + 1 < len(starts) else len(text)
        pid, body = start.group(1), text[start.end():end].rstrip("\n")
        body = body.replace("\n\t", "\n")
        if match := DURATION.match(body):
            ms, step, sql = float(match.group(1)), match.group(2), match.group(3).strip()
            if step in ("parse", "bind"):
                pending[pid] = pending.get(pid, 0.0) + ms
                last.pop(pid, None)  # a bind's parameters are logged again with its execute
                continue
            statement = Statement(sql=sql, ms=round(ms + pending.pop(pid, 0.0), 3))
            statements.append(statement)
            last[pid] = statement
        elif (match := PARAMETERS.match(body)) and pid in last:
            last[pid].parameters = dict(PARAMETER.findall(match.group(1)))
    return statements


def set_statement_logging(cluster: Cluster, on: bool) -> None:
    with psycopg.connect(cluster.conninfo, autocommit=True) as connection:
        value = "0" if on else "-1"
        connection.execute(f"ALTER SYSTEM SET log_min_duration_statement = {value}")
        connection.execute("SELECT pg_reload_conf()")
    time.sleep(SETTLE_SECONDS)  # every backend reads the new setting before its next command


def profile_pages(
    cluster: Cluster, base_url: str, cookie: str, pages: list[tuple[str, str]], requests: int = 3
) -> list[PageProfile]:
    """Request each (name, path) a few times with statement logging on; keep the statements of
    the request with the median database time (one request alone is at the mercy of noise)."""
    profiles = []
    set_statement_logging(cluster, True)
    try:
        for name, path in pages:
            logged = []
            for _ in range(requests):
                offset = cluster.log_size()
                status = status_of(base_url, path, cookie)
                time.sleep(SETTLE_SECONDS)
                statements = parse_log(cluster.read_log(offset))
                logged.append((sum(s.ms for s in statements), status, statements))
            logged.sort(key=lambda item: item[0])
            _ms, status, statements = logged[len(logged) // 2]
            profiles.append(PageProfile(name, path, status, statements,
                                        requests_ms=[round(item[0], 3) for item in logged]))
    finally:
        set_statement_logging(cluster, False)
    return profiles


def explain(cluster: Cluster, statement: Statement) -> str | None:
    """EXPLAIN (ANALYZE, BUFFERS) a logged SELECT with its parameters; None for others."""
    sql = statement.literal_sql()
    if not sql.lstrip().lower().startswith(EXPLAINABLE):
        return None
    with psycopg.connect(cluster.conninfo) as connection:
        connection.read_only = True
        try:
            rows = connection.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()
        except psycopg.Error as error:
            return f"EXPLAIN failed: {error}"
        finally:
            connection.rollback()
    return "\n".join(row[0] for row in rows)
