"""A throw-away PostgreSQL cluster from Debian's packages, run as the `postgres` system user.

``temporary_cluster()`` initialises a cluster in a fresh temporary folder owned by `postgres`
(trust authentication, listening on 127.0.0.1 only, on a free port, its Unix socket in that
folder), creates a database, and always stops the server and deletes the folder when the block
ends: normally, on an error, on Ctrl-C or on SIGTERM. Nothing outside the folder is touched.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.server import free_port

SYSTEM_USER = "postgres"
DATABASE = "sched_bench"
START_TIMEOUT = 60
# Debian installs the server's programs here, one folder per major version, not on PATH.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin/initdb"
# A throw-away cluster needs no durability: this only speeds up the bulk load and the logins'
# writes; reading (all that the benchmark measures) is the same. The rest are the defaults.
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "log_line_prefix": "%m [%p] ",
}
# Not set on the command line, which would override ALTER SYSTEM: bench/pgprofile.py switches
# statement logging on and off while the server runs.


class ClusterError(RuntimeError):
    """PostgreSQL is missing, or the throw-away cluster did not start."""


def server_binaries() -> Path:
    """Return the folder of initdb and pg_ctl: $PG_BIN, else Debian's newest, else PATH's."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob(DEBIAN_BINARIES), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ClusterError(
        "PostgreSQL's server is not installed (make bench-admin installs Debian's `postgresql`)"
    )


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/", path)
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def as_postgres() -> list[str]:
    """The prefix that runs a command as the `postgres` system user."""
    import pwd

    me = pwd.getpwuid(os.geteuid()).pw_name
    if me == SYSTEM_USER:
        return []
    if os.geteuid() == 0:
        return ["runuser", "-u", SYSTEM_USER, "--"]
    return ["sudo", "-n", "-u", SYSTEM_USER, "--"]


@dataclass
class Cluster:
    folder: Path  # owned by postgres: data/, the socket and server.log
    port: int
    bin: Path
    database: str = DATABASE

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    @property
    def url(self) -> str:
        """The URL for DATABASE_URL (config.py picks the psycopg 3 driver for it)."""
        return f"postgresql://{SYSTEM_USER}@127.0.0.1:{self.port}/{self.database}"

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg://{SYSTEM_USER}@127.0.0.1:{self.port}/{self.database}"

    @property
    def conninfo(self) -> str:
        """For psycopg directly."""
        return f"host=127.0.0.1 port={self.port} user={SYSTEM_USER} dbname={self.database}"

    def run(self, *command: str, timeout: float = 120) -> str:
        """Run one of the server's programs as postgres; return its output."""
        result = subprocess.run(
            [*as_postgres(), str(self.bin / command[0]), *command[1:]],
            cwd=self.folder, capture_output=True, text=True, timeout=timeout, check=False,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"{command[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                + self.log_tail()
            )
        return result.stdout

    def postmaster_pid(self) -> int:
        """The server's main process (pg_ctl detached it: it is not among our children)."""
        status = self.run("pg_ctl", "status", "-D", str(self.data))
        match = re.search(r"PID: (\d+)", status)
        if not match:
            raise ClusterError(f"pg_ctl status did not name the server's process: {status}")
        return int(match.group(1))

    def log_size(self) -> int:
        return len(self.read_log())

    def read_log(self, offset: int = 0) -> str:
        """The server's log from ``offset`` (bytes) on; it is readable by postgres only."""
        if os.geteuid() == 0:
            try:
                with open(self.log, "rb") as log:
                    log.seek(offset)
                    return log.read().decode(errors="replace")
            except FileNotFoundError:
                return ""
        result = subprocess.run(
            [*as_postgres(), "tail", "-c", f"+{offset + 1}", str(self.log)],
            capture_output=True, timeout=30, check=False,
        )
        return result.stdout.decode(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        text = self.read_log().splitlines()[-lines:]
        return ("\nThe server's log ends:\n" + "\n".join(text)) if text else ""


def _make_folder() -> Path:
    """A fresh temporary folder owned by postgres, readable by us for the socket."""
    result = subprocess.run(
        [*as_postgres(), "mktemp", "-d", "/tmp/sched-bench-pg-XXXXXX"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    if result.returncode != 0:
        raise ClusterError(f"cannot create a folder as {SYSTEM_USER}: {result.stderr.strip()}")
    folder = Path(result.stdout.strip())
    subprocess.run([*as_postgres(), "chmod", "755", str(folder)], check=True, timeout=30)
    return folder


def _remove_folder(folder: Path) -> None:
    if folder.name.startswith("sched-bench-pg-") and folder.parent == Path("/tmp"):
        subprocess.run([*as_postgres(), "rm", "-rf", "--", str(folder)], timeout=120, check=False)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Let SIGTERM and SIGHUP unwind like Ctrl-C, so that every `finally` runs; and Ctrl-C
    too where the shell started us with it ignored (in the background, say)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def temporary_cluster(settings: dict[str, str] | None = None) -> Iterator[Cluster]:
    """Start a throw-away cluster with one empty database; stop and delete it afterwards."""
    binaries = server_binaries()
    folder = _make_folder()
    cluster = Cluster(folder=folder, port=free_port(), bin=binaries)
    started = False
    try:
        cluster.run("initdb", "-D", str(cluster.data), "-A", "trust", "-U", SYSTEM_USER,
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        options = {
            **SETTINGS,
            **(settings or {}),
            "listen_addresses": "127.0.0.1",
            "port": str(cluster.port),
            "unix_socket_directories": str(folder),
        }
        # pg_ctl starts the server through the shell: quote each value for it.
        flags = " ".join(f"-c {name}={shlex.quote(value)}" for name, value in options.items())
        started = True  # from here on, try to stop it whatever happens
        cluster.run("pg_ctl", "start", "-D", str(cluster.data), "-l", str(cluster.log),
                    "-w", "-t", str(START_TIMEOUT), "-o", flags, timeout=START_TIMEOUT + 30)
        cluster.run("createdb", "-h", str(folder), "-p", str(cluster.port), "-U", SYSTEM_USER,
                    "-E", "UTF8", "-T", "template0", cluster.database)
        yield cluster
    finally:
        try:
            if started:
                _stop(cluster)
        finally:
            _remove_folder(folder)


def _stop(cluster: Cluster) -> None:
    """Stop the server, fast (disconnecting clients), or immediately if that hangs."""
    for mode, timeout in (("fast", 30), ("immediate", 30)):
        try:
            result = subprocess.run(
                [*as_postgres(), str(cluster.bin / "pg_ctl"), "stop", "-D", str(cluster.data),
                 "-m", mode, "-w", "-t", str(timeout)],
                cwd=cluster.folder, capture_output=True, text=True, timeout=timeout + 15,
                check=False,
            )
        except subprocess.TimeoutExpired:
            continue
        if result.returncode == 0 or "Is server running?" in result.stderr:
            return
    print(f"Could not stop PostgreSQL in {cluster.folder}", file=sys.stderr)


def wait_for_log(cluster: Cluster, offset: int, pattern: str, timeout: float = 5) -> str:
    """Wait until the log grows past ``offset`` with a line matching ``pattern``."""
    deadline = time.monotonic() + timeout
    while True:
        text = cluster.read_log(offset)
        if re.search(pattern, text) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)
