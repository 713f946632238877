"""Turn the runs into medians, ratios and target checks, as text tables and as JSON.

Every ratio is taken round by round between runs made side by side, then the median of the
rounds is quoted: absolute figures drift between runs on a shared machine, ratios much less.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from statistics import median
from typing import NamedTuple

from bench.load import Measurement
from bench.scenario import REFERENCE

# The targets.
MONTH_VS_REFERENCE = 0.5
WEEK_DAY_VS_MONTH = 1.0
LARGE_VS_SMALL = 0.9
P99_OVER_P50 = 3.0
VIEWS = ("month", "week", "day", "agenda")
# Other processes using this much CPU during a run make it noisy.
BUSY_CORES = 0.2

LEGEND = """\
Medians over the rounds. spread: (highest - lowest) / median req/s, the noise. x reference:
req/s over the reference page's in the same round. respawns: uWSGI workers replaced during the
runs (max-requests). others: CPU cores used meanwhile by processes outside the benchmark.
Latencies are wrk's, corrected for coordinated omission: a stall of N ms counts about
N / (mean interval) times, so one slow request can carry a one-connection p99."""


class RunKey(NamedTuple):
    size: int
    connections: int
    page: str


Runs = dict[RunKey, list[Measurement]]  # one measurement per round, in order


@dataclass(frozen=True)
class Row:
    page: str
    rps: float
    spread: float  # (highest - lowest) / median req/s over the rounds: the noise
    p50_ms: float
    p99_ms: float
    tail: float  # p99 / p50
    vs_reference: float | None
    respawns: int
    others_cores: float
    errors: int


@dataclass(frozen=True)
class Check:
    target: str
    where: str
    value: float
    limit: float
    at_most: bool = False  # the value must not exceed the limit, rather than reach it

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.at_most else self.value >= self.limit

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.target:<38} {self.where:<32} {self.value:6.2f}"


def median_of(runs: list[Measurement], value: Callable[[Measurement], float]) -> float:
    return median(value(run) for run in runs)


def rps_ratio(runs: Runs, a: RunKey, b: RunKey) -> float:
    """The median, over the rounds, of a's throughput over b's in the same round."""
    return median(x.rps / y.rps for x, y in zip(runs[a], runs[b], strict=True))


def summarize(runs: Runs, size: int, connections: int, pages: Iterable[str]) -> list[Row]:
    """One row per page for a dataset and a number of connections."""
    rows = []
    for page in pages:
        key = RunKey(size, connections, page)
        measured = runs[key]
        rps = median_of(measured, lambda m: m.rps)
        reference = RunKey(size, connections, REFERENCE)
        rows.append(
            Row(
                page=page,
                rps=rps,
                spread=(max(m.rps for m in measured) - min(m.rps for m in measured)) / rps,
                p50_ms=median_of(measured, lambda m: m.p50_ms),
                p99_ms=median_of(measured, lambda m: m.p99_ms),
                tail=median_of(measured, lambda m: m.p99_ms / m.p50_ms),
                vs_reference=rps_ratio(runs, key, reference) if reference in runs else None,
                respawns=sum(m.respawns for m in measured),
                others_cores=median_of(measured, lambda m: m.others_cores),
                errors=sum(m.errors for m in measured),
            )
        )
    return rows


def target_checks(
    runs: Runs, sizes: list[int], connections: list[int], pages: list[str]
) -> list[Check]:
    """Check the issue's targets on every dataset and connection count measured."""
    views = [page for page in VIEWS if page in pages]
    return [
        *page_ratio_checks(runs, sizes, connections, pages),
        *scaling_checks(runs, sizes, connections, views),
        *tail_checks(runs, sizes, connections, views),
    ]


def page_ratio_checks(
    runs: Runs, sizes: list[int], connections: list[int], pages: list[str]
) -> list[Check]:
    """Month against the reference page; week and day against the month."""
    pairs = [("month", REFERENCE, MONTH_VS_REFERENCE, "month >= 0.5 x reference req/s"),
             ("week", "month", WEEK_DAY_VS_MONTH, "week >= month req/s"),
             ("day", "month", WEEK_DAY_VS_MONTH, "day >= month req/s")]
    return [
        Check(target, f"{size:,} appointments, {conns} conn",
              rps_ratio(runs, RunKey(size, conns, page), RunKey(size, conns, base)), limit)
        for page, base, limit, target in pairs
        if page in pages and base in pages
        for size in sizes
        for conns in connections
    ]


def scaling_checks(
    runs: Runs, sizes: list[int], connections: list[int], views: list[str]
) -> list[Check]:
    """Each view's throughput on the largest dataset against the smallest."""
    small, large = min(sizes), max(sizes)
    if small == large:
        return []
    return [
        Check(f"{page} at {large:,} >= 0.9 x at {small:,}", f"{conns} conn",
              rps_ratio(runs, RunKey(large, conns, page), RunKey(small, conns, page)),
              LARGE_VS_SMALL)
        for page in views
        for conns in connections
    ]


def tail_checks(
    runs: Runs, sizes: list[int], connections: list[int], views: list[str]
) -> list[Check]:
    """p99 against p50 with one connection, where queueing cannot explain a tail."""
    if 1 not in connections:
        return []
    return [
        Check(f"{page} p99 <= 3 x p50, 1 conn", f"{size:,} appointments",
              median_of(runs[RunKey(size, 1, page)], lambda m: m.p99_ms / m.p50_ms),
              P99_OVER_P50, at_most=True)
        for page in views
        for size in sizes
    ]


def render_table(rows: list[Row], title: str) -> str:
    heading = (f"{'page':<10} {'req/s':>8} {'spread':>7} {'p50 ms':>8} {'p99 ms':>8} "
               f"{'p99/p50':>8} {'x reference':>12} {'respawns':>9} {'others':>7} {'errors':>7}")
    lines = [title, heading]
    for row in rows:
        ratio = f"{row.vs_reference:12.2f}" if row.vs_reference is not None else f"{'-':>12}"
        lines.append(
            f"{row.page:<10} {row.rps:8.1f} {row.spread:7.0%} {row.p50_ms:8.2f} "
            f"{row.p99_ms:8.2f} {row.tail:8.1f} {ratio} {row.respawns:9d} {row.others_cores:7.2f} "
            f"{row.errors:7d}"
        )
    return "\n".join(lines)


def render_scaling(runs: Runs, sizes: list[int], connections: list[int], pages: list[str]) -> str:
    small, large = min(sizes), max(sizes)
    lines = [
        f"Throughput with {large:,} appointments over {small:,} (req/s ratio, median of rounds)",
        f"{'page':<10}" + "".join(f"{f'{conns} conn':>10}" for conns in connections),
    ]
    for page in pages:
        ratios = (rps_ratio(runs, RunKey(large, c, page), RunKey(small, c, page))
                  for c in connections)
        lines.append(f"{page:<10}" + "".join(f"{ratio:10.2f}" for ratio in ratios))
    return "\n".join(lines)


def render(
    runs: Runs, sizes: list[int], connections: list[int], pages: list[str], rounds: int,
    seconds: int, checks: list[Check], data: str = "",
) -> str:
    """The whole report: what the data is, a table per dataset and connection count, scaling,
    then the targets."""
    sections = [LEGEND, *([textwrap.fill(data, width=96)] if data else [])]
    for size in sizes:
        for conns in connections:
            title = (f"{size:,} appointments, {conns} connection{'s' * (conns > 1)} "
                     f"(median of {rounds} run{'s' * (rounds > 1)} of {seconds:g} s)")
            sections.append(render_table(summarize(runs, size, conns, pages), title))
    if len(sizes) > 1:
        sections.append(render_scaling(runs, sizes, connections, pages))
    sections.extend(filter(None, (busy_machine_warning(runs), errors_warning(runs))))
    if checks:
        failed = sum(not check.passed for check in checks)
        sections.append("\n".join(
            [f"Targets: {len(checks) - failed} pass, {failed} fail"]
            + [check.line() for check in checks]
        ))
    return "\n\n".join(sections)


def busy_machine_warning(runs: Runs) -> str | None:
    busy = [m.others_cores for measured in runs.values() for m in measured
            if m.others_cores >= BUSY_CORES]
    if not busy:
        return None
    total = sum(len(measured) for measured in runs.values())
    return textwrap.fill(
        f"WARNING: other processes used {min(busy):.1f} to {max(busy):.1f} cores during "
        f"{len(busy)} of {total} runs; figures from a busy machine are noisy. "
        f"Run again when it is quiet.",
        width=96,
    )


def errors_warning(runs: Runs) -> str | None:
    failed = [key for key, measured in runs.items() if any(m.errors for m in measured)]
    if not failed:
        return None
    names = ", ".join(f"{key.page} at {key.size:,} with {key.connections}" for key in failed)
    return textwrap.fill(f"WARNING: requests failed in runs of {names}; their figures are wrong.",
                         width=96)


def as_json(
    runs: Runs, sizes: list[int], connections: list[int], pages: list[str], checks: list[Check]
) -> dict:
    """Everything measured, and what it came to, for bench/results/."""
    return {
        "runs": [
            {**key._asdict(), "round": number, **measurement.as_dict()}
            for key, measurements in runs.items()
            for number, measurement in enumerate(measurements, start=1)
        ],
        "summary": [
            {"size": size, "connections": conns, **asdict(row)}
            for size in sizes
            for conns in connections
            for row in summarize(runs, size, conns, pages)
        ],
        "checks": [{**asdict(check), "passed": check.passed} for check in checks],
    }
