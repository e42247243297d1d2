"""A primary and its synchronous standby on loopback TCP, from the PostgreSQL 16 binaries
that the pgserver wheel ships (notes: /work/shared/notes/failover.md)."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.db import postgres_binaries
from tests.ops.servers import ROOT, free_port

BIN = postgres_binaries()
DATABASE = "accountflow"


def _run(program: str, *args: str) -> str:
    """A PostgreSQL binary as the data's owner (pgserver's system user under root)."""
    user = "pgserver" if os.geteuid() == 0 else None
    done = subprocess.run(
        [str(BIN / program), *args], user=user, capture_output=True, text=True, timeout=120, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _folder(path: Path) -> Path:
    path.mkdir(mode=0o700)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("pgserver")
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def _configure(data: Path, port: int) -> None:
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {port}\n"
            f"unix_socket_directories = '{data}'\nwal_level = replica\n"
            "max_wal_senders = 5\nhot_standby = on\n"
        )


@dataclass(frozen=True, slots=True)
class Node:
    data: Path
    port: int

    def start(self) -> None:
        _run("pg_ctl", "-D", str(self.data), "-l", str(self.data / "log"), "-w", "start")

    def sql(self, statement: str, database: str = "postgres") -> str:
        args = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database]
        return _run("psql", *args, "-Atc", statement).strip()

    def kill(self) -> None:
        """Stop at once, as a crash does (no shutdown checkpoint, clients cut off)."""
        _run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def stop(self) -> None:
        subprocess.run(
            [str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            user="pgserver" if os.geteuid() == 0 else None,
            capture_output=True,
            timeout=60,
        )


@dataclass(frozen=True, slots=True)
class Cluster:
    primary: Node
    standby: Node

    @property
    def url(self) -> str:
        """SQLAlchemy's multi-host URL: whichever of the two takes writes."""
        hosts = f"host=127.0.0.1:{self.primary.port}&host=127.0.0.1:{self.standby.port}"
        return f"postgresql+asyncpg://postgres@/{DATABASE}?{hosts}&target_session_attrs=read-write"

    def url_of(self, node: Node) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{node.port}/{DATABASE}"

    def fail_over(self) -> None:
        """The standby takes over (what Patroni or the operator does), alone from now on."""
        _run("pg_ctl", "-D", str(self.standby.data), "-w", "promote")
        self.standby.sql("ALTER SYSTEM SET synchronous_standby_names = ''")
        self.standby.sql("SELECT pg_reload_conf()")


def _traversable(folder: Path) -> None:
    """The folder and its parents, searchable by PostgreSQL's user (pytest's are 0700)."""
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if mode & 0o011 != 0o011:
            path.chmod(mode | 0o011)


@contextmanager
def cluster(folder: Path) -> Iterator[Cluster]:
    """A migrated primary, and a standby every commit waits for."""
    folder.mkdir(parents=True, exist_ok=True)
    _traversable(folder)
    primary = Node(_folder(folder / "primary"), free_port())
    standby = Node(folder / "standby", free_port())
    try:
        _start_primary(primary)
        _start_standby(primary, standby)
        yield Cluster(primary, standby)
    finally:
        standby.stop()
        primary.stop()


def _start_primary(primary: Node) -> None:
    _run("initdb", "-D", str(primary.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    _configure(primary.data, primary.port)
    with (primary.data / "pg_hba.conf").open("a") as hba:
        hba.write("host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n")
    primary.start()
    primary.sql(f"CREATE DATABASE {DATABASE}")
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{primary.port}/{DATABASE}"
    environ = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "app", "migrate"]
    subprocess.run(command, cwd=ROOT, env=environ, check=True, capture_output=True, timeout=300)


def _start_standby(primary: Node, standby: Node) -> None:
    _folder(standby.data)
    source = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
    _run("pg_basebackup", *source, "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast")
    with (standby.data / "postgresql.conf").open("a") as conf:
        conf.write(f"port = {standby.port}\nunix_socket_directories = '{standby.data}'\n")
    standby.start()
    # Only now: set before a standby exists, every commit would wait for ever.
    primary.sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
    primary.sql("SELECT pg_reload_conf()")
    deadline = time.monotonic() + 30
    while primary.sql("SELECT sync_state FROM pg_stat_replication") != "sync":
        assert time.monotonic() < deadline, "the standby did not become synchronous"
        time.sleep(0.1)
