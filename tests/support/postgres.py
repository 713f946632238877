"""PostgreSQL for the test suite: a throw-away cluster, and a fresh database per test on a server.

``python -m tests.support.postgres -- COMMAND ...`` (what ``make test-postgresql`` runs) starts a
cluster from PostgreSQL's server binaries (Debian's `postgresql` package, or $PG_BIN) in a new
folder in /dev/shm or /tmp (see ``parent_folder``), runs COMMAND with ``SCHED_TEST_DATABASE``
naming the server, and always stops the server and deletes the folder afterwards: when COMMAND
ends, fails, or on Ctrl-C or SIGTERM. Without a COMMAND it prints the URL and keeps the cluster
until Ctrl-C, for running pytest by hand.

The cluster listens on 127.0.0.1 only, on a free port, with a random password (any local user
could otherwise connect as its superuser); its Unix socket is in its own folder, which only the
server's user can enter. PostgreSQL refuses to run as root: as root the server runs as the
`postgres` system user that Debian's package creates (or a `sched-test` system user, created
when that is missing too); otherwise as the current user. Durability is off: nothing here
survives the run.

``TestDatabases`` is what tests/conftest.py uses on such a server (or any server a developer
names in ``SCHED_TEST_DATABASE``, with a role that may create databases): one database built by
the migrations, copied per test with ``CREATE DATABASE ... TEMPLATE``, dropped after the test.

The benchmark (bench/admin.py) runs its cluster with ``temporary_cluster()`` too, asking for what
a big load needs on top of what the tests get: settings of its own, a database of its own, the
folder on disk rather than in memory; ``terminate_as_interrupt()`` gives it the clean-up on
SIGTERM that ``python -m tests.support.postgres`` has.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from tests.support.network import free_port

# The server the suite runs on (unset: SQLite), and the throw-away cluster's data folder, which
# lets a test restart that server (tests/core/test_database.py).
DATABASE_ENV = "SCHED_TEST_DATABASE"
DATA_ENV = "SCHED_TEST_POSTGRES_DATA"
PARENT_ENV = "SCHED_TEST_POSTGRES_PARENT"

# Debian installs the server's programs here, one folder per major version, not on PATH.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin/initdb"
SUPERUSER = "postgres"  # the database role initdb creates; not the system user
MAINTENANCE_DATABASE = "postgres"  # the database initdb creates
DEBIAN_SYSTEM_USER = "postgres"
OWN_SYSTEM_USER = "sched-test"
FOLDER_PREFIX = "sched-test-pg-"
START_TIMEOUT = 60  # seconds pg_ctl waits for the server to accept connections
STOP_TIMEOUT = 30
START_ATTEMPTS = 3  # another program may take the free port between our check and the start
# A throw-away cluster needs no durability. Each test's CREATE DATABASE writes its ~8 MB to the
# WAL: checkpoint often enough that the WAL stays small (it may be in memory, see parent_folder).
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "128MB",
    "min_wal_size": "32MB",
    "log_line_prefix": "%m [%p] ",
}
# The cluster's folder goes in memory when there is this much room there (see parent_folder).
MEMORY_FOLDER = Path("/dev/shm")
MEMORY_NEEDED = 1024**3


class ClusterError(RuntimeError):
    """PostgreSQL is missing, or the throw-away cluster did not start or stop."""


# --------------------------------------------------------------------------------------------
# The server's programs and the user that runs them
# --------------------------------------------------------------------------------------------


def server_binaries() -> Path:
    """Return the folder of initdb and pg_ctl: $PG_BIN, else Debian's newest, else PATH's."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob(DEBIAN_BINARIES), key=_version_key)
    if found:
        return Path(found[-1]).parent
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise ClusterError(
        "PostgreSQL's server is not installed: `make system-packages` installs Debian's "
        "`postgresql`, or set PG_BIN to the folder of initdb and pg_ctl."
    )


def _version_key(path: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([\d.]+)/", path)
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def server_user() -> pwd.struct_passwd:
    """The system user the server runs as: never root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    for name in (DEBIAN_SYSTEM_USER, OWN_SYSTEM_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", OWN_SYSTEM_USER],
        check=True, timeout=30,
    )
    return pwd.getpwnam(OWN_SYSTEM_USER)


def _as_user(user: pwd.struct_passwd) -> list[str]:
    """The prefix that runs a command as ``user`` (nothing when that is us already)."""
    return [] if user.pw_uid == os.geteuid() else ["runuser", "-u", user.pw_name, "--"]


def parent_folder() -> Path:
    """Where the cluster's folder goes: in memory (tmpfs) if there is room, else /tmp.

    A database is a few hundred files, and CREATE DATABASE makes them all: on this project's
    virtual disks, with file creation near a millisecond, that took ~300 ms a test, against
    ~10 ms in memory. The cluster needs a few hundred megabytes; Docker's default /dev/shm
    (64 MB) is too small, and then /tmp it is. $SCHED_TEST_POSTGRES_PARENT picks another folder.
    """
    if os.environ.get(PARENT_ENV):
        return Path(os.environ[PARENT_ENV])
    try:
        room = os.statvfs(MEMORY_FOLDER)
    except OSError:
        return Path("/tmp")
    return MEMORY_FOLDER if room.f_bavail * room.f_frsize >= MEMORY_NEEDED else Path("/tmp")


# --------------------------------------------------------------------------------------------
# The throw-away cluster
# --------------------------------------------------------------------------------------------


@dataclass
class Cluster:
    """A cluster in ``folder`` (data/, server.log and the Unix socket), owned by ``user``.

    ``database`` is the one its URLs name; ``settings`` are started with on top of SETTINGS.
    """

    folder: Path
    user: pwd.struct_passwd
    bin: Path
    port: int = 0
    password: str = ""
    database: str = MAINTENANCE_DATABASE
    settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_data_folder(cls, data: Path) -> Cluster:
        """The running cluster whose data folder is ``data`` (to restart, or stop and start it)."""
        # postmaster.pid's fourth line is the port: start() after stop() needs it again.
        port = int((data / "postmaster.pid").read_text().splitlines()[3])
        return cls(
            folder=data.parent, user=pwd.getpwuid(data.stat().st_uid), bin=server_binaries(),
            port=port,
        )

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    @property
    def url(self) -> str:
        """The URL of ``database`` (the maintenance database unless temporary_cluster made
        another), for SCHED_TEST_DATABASE or DATABASE_URL."""
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def sqlalchemy_url(self) -> str:
        """The same with the psycopg 3 driver, for SQLAlchemy."""
        return postgresql_url(self.url).render_as_string(hide_password=False)

    @property
    def conninfo(self) -> str:
        """The same for psycopg itself."""
        return (f"host=127.0.0.1 port={self.port} user={SUPERUSER} password={self.password} "
                f"dbname={self.database}")

    def run(self, program: str, *args: str, timeout: float = 120):
        """Run one of the server's programs as the cluster's user; raise if it fails."""
        result = subprocess.run(
            [*_as_user(self.user), str(self.bin / program), *args],
            cwd=self.folder, capture_output=True, text=True, timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(
                f"{program} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
                f"{self.log_tail()}"
            )
        return result

    def start(self) -> None:
        options = {
            **SETTINGS,
            **self.settings,
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.folder),
        }
        # pg_ctl starts the server through the shell: quote each value for it.
        flags = " ".join(f"-c {name}={shlex.quote(value)}" for name, value in options.items())
        self._pg_ctl("start", "-o", flags, timeout=START_TIMEOUT)

    def restart(self) -> None:
        """Stop the server (disconnecting every client) and start it again, same options."""
        self._pg_ctl("restart", "-m", "fast", timeout=START_TIMEOUT)

    def _pg_ctl(self, action: str, *args: str, timeout: float) -> None:
        # -l matters: without it the server would keep our output pipe open, and we would hang.
        self.run("pg_ctl", action, "-D", str(self.data), "-l", str(self.log), "-w",
                 "-t", str(timeout), *args, timeout=timeout + 30)

    def stop(self) -> None:
        """Stop the server: fast (disconnecting clients), or immediately if that hangs."""
        for mode in ("fast", "immediate"):
            try:
                self.run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w",
                         "-t", str(STOP_TIMEOUT), timeout=STOP_TIMEOUT + 15)
                return
            except subprocess.TimeoutExpired:
                continue
            except ClusterError as error:
                if "Is server running?" in str(error):
                    return
        raise ClusterError(f"could not stop PostgreSQL in {self.folder}{self.log_tail()}")

    def create_database(self, name: str) -> None:
        """Create an empty database ``name`` (UTF-8, from template0), over the Unix socket."""
        self.run("createdb", "-h", str(self.folder), "-p", str(self.port), "-U", SUPERUSER,
                 "-E", "UTF8", "-T", "template0", name)

    def postmaster_pid(self) -> int:
        """The server's main process (pg_ctl detached it: it is not among our children)."""
        return int((self.data / "postmaster.pid").read_text().splitlines()[0])

    def read_log(self, offset: int = 0) -> str:
        """The server's log from ``offset`` (bytes) on."""
        try:
            with open(self.log, "rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        """The log's length in bytes: the ``offset`` of what the server logs next."""
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return ("\nThe server's log ends:\n" + "\n".join(text)) if text else ""


@contextmanager
def temporary_cluster(
    settings: Mapping[str, str] | None = None, database: str | None = None,
    parent: Path | None = None, prefix: str = FOLDER_PREFIX,
) -> Iterator[Cluster]:
    """Start a throw-away cluster; stop it and delete its folder when the block ends.

    What the tests get by default; the benchmark asks for more: ``settings`` on top of
    SETTINGS, a new empty ``database`` that the cluster's URLs then name, and the folder (named
    ``prefix``...) in ``parent`` instead of where ``parent_folder`` puts it.
    """
    binaries = server_binaries()
    user = server_user()
    # mkdtemp makes it 0700: once it is the server user's, only that user (and root) get in.
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent or parent_folder()))
    cluster = Cluster(folder=folder, user=user, bin=binaries, password=secrets.token_urlsafe(24),
                      settings=dict(settings or {}))
    started = False
    try:
        os.chown(folder, user.pw_uid, user.pw_gid)
        password_file = folder / "password"
        password_file.touch(mode=0o600)
        password_file.write_text(cluster.password + "\n")
        os.chown(password_file, user.pw_uid, user.pw_gid)
        # Trust over the socket (in the folder nobody else can enter), a password over TCP.
        cluster.run("initdb", "-D", str(cluster.data), "-U", SUPERUSER, "-E", "UTF8",
                    "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
                    f"--pwfile={password_file}", "--no-sync")
        password_file.unlink()
        for attempt in range(1, START_ATTEMPTS + 1):
            cluster.port = free_port()
            started = True  # from here on, try to stop it whatever happens
            try:
                cluster.start()
                break
            except ClusterError as error:
                if attempt == START_ATTEMPTS or "could not bind" not in str(error):
                    raise
        if database:
            cluster.create_database(database)
            cluster.database = database
        yield cluster
    finally:
        try:
            if started:
                cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Let SIGTERM and SIGHUP unwind like Ctrl-C, so that every `finally` runs (the cluster's
    clean-up among them); and Ctrl-C too where the shell started us with it ignored (in the
    background, say). For programs that run temporary_cluster() themselves (bench/admin.py)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------------------------------
# Test databases on a server
# --------------------------------------------------------------------------------------------


def postgresql_url(url: str) -> URL:
    """A plain postgresql:// URL, with the psycopg 3 driver we ship (as config.py does)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"{DATABASE_ENV} must be a postgresql:// URL, not {parsed.drivername}")
    return parsed.set(drivername="postgresql+psycopg")


class TestDatabases:
    """Create databases for one test session on the server at ``url``, and drop them again.

    ``url`` names a database to connect to for CREATE and DROP DATABASE (``postgres`` will do);
    the session's databases are made next to it, named after this process so that two sessions
    on one server keep apart.
    """

    __test__ = False  # not a test class, whatever its name

    def __init__(self, url: str):
        self.server_url = postgresql_url(url)
        self.prefix = f"sched_test_{os.getpid()}"
        self.created = 0
        # CREATE and DROP DATABASE cannot run in a transaction. Pre-ping: a test restarts the
        # server under us.
        self.engine = sa.create_engine(
            self.server_url, isolation_level="AUTOCOMMIT", pool_size=1, pool_pre_ping=True
        )

    def create(self, template: str | None = None) -> str:
        """Create a database, empty or a copy of ``template`` (a URL); return its URL."""
        self.created += 1
        name = f"{self.prefix}_{self.created}"
        sql = f"CREATE DATABASE {self._quote(name)}"
        if template:
            # Far faster than migrating again. The template must have no connections open.
            sql += f" TEMPLATE {self._quote(make_url(template).database)}"
        with self.engine.connect() as connection:
            connection.exec_driver_sql(sql)
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made here, closing any connection a test left open to it."""
        name = make_url(url).database
        assert name.startswith(self.prefix), f"{name} is not one of this session's databases"
        with self.engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {self._quote(name)} WITH (FORCE)")

    def close(self) -> None:
        self.engine.dispose()

    def _quote(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(name)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def run_with_cluster(command: list[str]) -> int:
    """Run ``command`` against a throw-away cluster; return its exit status."""
    # SIGTERM and SIGHUP unwind like Ctrl-C, so that the cluster is stopped and deleted.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        with temporary_cluster() as cluster:
            env = {**os.environ, DATABASE_ENV: cluster.url, DATA_ENV: str(cluster.data)}
            print(f"PostgreSQL {cluster.bin.parent.name} on 127.0.0.1:{cluster.port}, "
                  f"data in {cluster.data}", file=sys.stderr, flush=True)
            if not command:
                print(f"{DATABASE_ENV}={cluster.url}\nCtrl-C stops and deletes the cluster.",
                      flush=True)
                while True:
                    signal.pause()
            return _run_child(command, env)
    except KeyboardInterrupt:
        return 130
    except ClusterError as error:
        print(error, file=sys.stderr)
        return 1


def _run_child(command: list[str], env: dict[str, str]) -> int:
    """Run the command to its end, passing SIGTERM and SIGHUP on to it."""
    child = subprocess.Popen(command, env=env)
    # Ctrl-C reaches the child from the terminal by itself: let it finish its own clean-up.
    forward = {signal.SIGINT: signal.SIG_IGN}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        forward[sig] = lambda signum, frame: child.send_signal(signum)
    previous = {sig: signal.signal(sig, handler) for sig, handler in forward.items()}
    try:
        status = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.kill()
            child.wait()
    return status if status >= 0 else 128 - status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.postgres",
        description=f"Run COMMAND with {DATABASE_ENV} set to a throw-away PostgreSQL cluster, "
        "deleted afterwards. Without COMMAND, keep the cluster until Ctrl-C.",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="e.g. -- .venv/bin/python -m pytest tests/core")
    command = parser.parse_args(argv).command
    if command[:1] == ["--"]:
        command = command[1:]
    return run_with_cluster(command)


if __name__ == "__main__":
    sys.exit(main())
