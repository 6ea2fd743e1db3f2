"""The orders database's lifecycle: an embedded PostgreSQL that keeps its data, stops cleanly, and runs as root;
or an existing server given by URL."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from localcloud.orders_db import (
    POSTGRES_URL_ENV,
    EmbeddedPostgres,
    ExternalPostgres,
    orders_database,
)

pytestmark = pytest.mark.localcloud

needs_proc = pytest.mark.skipif(not Path("/proc/self").exists(), reason="reads processes from /proc")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory, outside pytest's base temp directory.

    Under root the server's own user must be able to traverse every parent of its data directory, and each
    pytest start (another xdist worker, another session) resets pytest's base temp directory to 0700.
    """
    base = Path(tempfile.mkdtemp(prefix="localcloud-orders-db-"))
    yield base / "postgres"
    shutil.rmtree(base, ignore_errors=True)


def postgres_processes(data_dir: Path) -> set[int]:
    """The postmaster of `data_dir` (its command line names the directory) and every child it has."""
    parents: dict[int, int] = {}
    postmasters: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # exited meanwhile
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("State", "").startswith("Z"):
            continue
        pid = int(entry.name)
        parents[pid] = int(fields.get("PPid", "0"))
        if str(data_dir).encode() in command and command[0].endswith(b"postgres"):
            postmasters.add(pid)
    return postmasters | {pid for pid, parent in parents.items() if parent in postmasters}


def query(conninfo: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(conninfo, autocommit=True) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


@needs_proc
def test_data_survives_a_restart_and_stop_leaves_no_process(data_dir: Path) -> None:
    # Given a started server with a table and a row
    server = EmbeddedPostgres(data_dir)
    conninfo = server.start()
    query(conninfo, "CREATE TABLE orders (id text PRIMARY KEY); INSERT INTO orders VALUES ('o-1')")
    running = postgres_processes(server.data_dir)

    # When it is stopped
    server.stop()

    # Then no postgres process of it is left (the postmaster and its children are gone)
    assert server.pid is None
    assert running
    assert postgres_processes(server.data_dir) == set()

    # And when it starts again, the row is still there
    try:
        assert query(server.start(), "SELECT id FROM orders") == [("o-1",)]
    finally:
        server.stop()


def test_start_answers_the_application_database_on_localhost(data_dir: Path) -> None:
    # Given a server on a port chosen by the system, for the application's database
    with EmbeddedPostgres(data_dir, database="commerce") as server:
        # When its conninfo is read
        params = conninfo_to_dict(server.conninfo)

        # Then it names the commerce database on 127.0.0.1, which exists
        assert (params["host"], params["dbname"], int(str(params["port"]))) == ("127.0.0.1", "commerce", server.port)
        assert query(server.conninfo, "SELECT current_database(), current_setting('TimeZone')") == [("commerce", "UTC")]


@needs_proc
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root needs a service user")
def test_under_root_the_server_runs_as_an_unprivileged_user(data_dir: Path) -> None:
    # Given we are root, which PostgreSQL refuses to run as
    # When the server starts
    with EmbeddedPostgres(data_dir) as server:
        # Then its postmaster and the data directory belong to another, unprivileged user
        assert server.pid is not None
        owner = Path(f"/proc/{server.pid}").stat().st_uid
        assert owner != 0
        assert server.data_dir.stat().st_uid == owner
        assert server.data_dir.stat().st_mode & 0o077 == 0


def test_reset_wipes_the_data(data_dir: Path) -> None:
    # Given a server with a table
    server = EmbeddedPostgres(data_dir)
    query(server.start(), "CREATE TABLE orders (id text)")

    # When it is reset and started again
    server.reset()
    wiped = not server.data_dir.exists()
    try:
        tables = query(server.start(), "SELECT count(*) FROM pg_tables WHERE tablename = 'orders'")
    finally:
        server.stop()

    # Then the data directory was removed and the new cluster has no such table
    assert wiped
    assert tables == [(0,)]


@needs_proc
def test_a_server_left_running_by_a_dead_process_is_replaced(data_dir: Path) -> None:
    # Given a process that started the server and was killed before it could stop it
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        from localcloud.orders_db import EmbeddedPostgres
        EmbeddedPostgres(Path({str(data_dir)!r})).start()
        print("started", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    crashed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=Path.cwd()
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    leftover = postgres_processes(data_dir)

    # When a new EmbeddedPostgres starts on the same directory
    with EmbeddedPostgres(data_dir) as server:
        # Then the leftover server was stopped and the new one serves the data directory
        assert leftover
        assert server.pid not in leftover
        assert not leftover & postgres_processes(data_dir)
        assert query(server.conninfo, "SELECT 1") == [(1,)]


def test_an_existing_server_is_used_by_url_and_never_stopped(data_dir: Path, tmp_path: Path) -> None:
    # Given a running server, and LOCALCLOUD_POSTGRES_URL naming it
    with EmbeddedPostgres(data_dir) as server:
        url = make_conninfo(server.conninfo, dbname="postgres")
        database = f"commerce_{uuid.uuid4().hex[:8]}"
        external = orders_database(tmp_path / "unused", database=database, environ={POSTGRES_URL_ENV: url})
        assert isinstance(external, ExternalPostgres)

        # When the external database is started, written to, stopped and reset
        conninfo = external.start()
        query(conninfo, "CREATE TABLE orders (id text)")
        external.stop()
        still_running = query(conninfo, "SELECT current_database()")
        external.reset()
        remaining = query(url, f"SELECT count(*) FROM pg_database WHERE datname = '{database}'")  # noqa: S608

        # Then start created the application database, stop left the server alone and reset dropped only it
        assert still_running == [(database,)]
        assert remaining == [(0,)]
        assert not (tmp_path / "unused").exists()


def test_without_a_url_the_database_is_embedded(data_dir: Path) -> None:
    # Given no LOCALCLOUD_POSTGRES_URL
    # When the orders database is chosen
    chosen = orders_database(data_dir, environ={})

    # Then it is an embedded server in the given directory
    assert isinstance(chosen, EmbeddedPostgres)
    assert chosen.data_dir == data_dir
