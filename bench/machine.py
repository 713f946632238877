"""How busy the machine is: the CPU time everything used, against what the benchmark started.

The machine is shared; a run during which other processes took a core is not comparable with
one during which they did not. Each run records how many cores others used meanwhile.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class CpuSample:
    wall: float
    busy: float  # CPU seconds all cores spent outside idle since boot
    ours: float  # CPU seconds of this process and everything it started


# Processes the benchmark started that detached from it (PostgreSQL's postmaster): theirs is ours.
_DETACHED: set[int] = set()


def count_as_ours(pid: int) -> None:
    _DETACHED.add(pid)


def stop_counting(pid: int) -> None:
    _DETACHED.discard(pid)


def sample() -> CpuSample:
    return CpuSample(
        time.monotonic(), busy_cpu_seconds(), tree_cpu_seconds(os.getpid(), *_DETACHED)
    )


def others_cores(before: CpuSample, after: CpuSample) -> float:
    """Return how many cores, on average, processes we did not start used between two samples."""
    others = (after.busy - before.busy) - (after.ours - before.ours)
    return max(others, 0.0) / (after.wall - before.wall)


def busy_cpu_seconds() -> float:
    first_line = (PROC / "stat").read_text().split("\n", 1)[0]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, first_line.split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def tree_cpu_seconds(root: int, *more_roots: int) -> float:
    """CPU seconds of processes and their descendants, the exited ones they reaped included."""
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            # Fields after the command name: state, ppid, ..., utime (12th), stime, cutime, cstime.
            stats[int(entry.name)] = text[text.rindex(")") + 2 :].split()
    children = defaultdict(list)
    for pid, fields in stats.items():
        children[int(fields[1])].append(pid)
    ticks, stack, seen = 0, [root, *more_roots], set()
    while stack:
        pid = stack.pop()
        if pid in stats and pid not in seen:
            seen.add(pid)
            ticks += sum(int(value) for value in stats[pid][11:15])
            stack.extend(children[pid])
    return ticks / CLOCK_TICKS
