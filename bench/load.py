"""Drive load with wrk and read its report: requests per second and latency percentiles."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass

WRK_MAX_THREADS = 2  # one per core; wrk shares the machine with uWSGI
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
RPS_LINE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
PERCENTILE_LINE = r"^\s+{}%\s+([\d.]+)(us|ms|s|m|h)\s*$"
REQUESTS_LINE = re.compile(r"^\s+(\d+) requests in", re.MULTILINE)
NON_2XX_LINE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
SOCKET_ERRORS_LINE = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)


class LoadError(RuntimeError):
    """wrk is missing, failed, or printed a report we cannot read."""


@dataclass(frozen=True)
class Measurement:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # responses of 400 and over, and connect/write/timeout errors
    respawns: int = 0  # uWSGI workers replaced during the run
    others_cores: float = 0.0  # CPU that processes outside the benchmark used meanwhile

    def as_dict(self) -> dict:
        return asdict(self)


def wrk_command(url: str, cookie: str, connections: int, seconds: int) -> list[str]:
    wrk = shutil.which("wrk")
    if not wrk:
        raise LoadError("wrk is not installed (make bench installs Debian's package)")
    threads = min(connections, WRK_MAX_THREADS)
    return [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
        "-H", f"Cookie: session={cookie}", url,
    ]


def run_wrk(url: str, cookie: str, connections: int, seconds: int) -> Measurement:
    """Load ``url`` as the logged-in user for ``seconds`` over ``connections`` connections."""
    command = wrk_command(url, cookie, connections, seconds)
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if result.returncode != 0:
        raise LoadError(f"wrk failed ({result.returncode}): {result.stderr.strip()}")
    return parse_wrk(result.stdout)


def parse_wrk(report: str) -> Measurement:
    """Read a ``wrk --latency`` report."""
    rps, requests = RPS_LINE.search(report), REQUESTS_LINE.search(report)
    if not rps or not requests:
        raise LoadError(f"cannot read wrk's report:\n{report}")
    non_2xx = NON_2XX_LINE.search(report)
    socket_errors = SOCKET_ERRORS_LINE.search(report)
    # The server closes every connection after its response (no keep-alive), which wrk counts
    # as a read error; only the others are real failures.
    connect, _read, write, timeout = map(int, socket_errors.groups()) if socket_errors else (0,) * 4
    return Measurement(
        rps=float(rps.group(1)),
        p50_ms=percentile_ms(report, 50),
        p99_ms=percentile_ms(report, 99),
        requests=int(requests.group(1)),
        errors=(int(non_2xx.group(1)) if non_2xx else 0) + connect + write + timeout,
    )


def percentile_ms(report: str, percent: int) -> float:
    match = re.search(PERCENTILE_LINE.format(percent), report, re.MULTILINE)
    if not match:
        raise LoadError(f"no {percent}% line in wrk's report:\n{report}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]
