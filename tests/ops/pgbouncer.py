"""Debian's PgBouncer in transaction mode in front of the tests' embedded PostgreSQL.

`apt-get install pgbouncer` provides /usr/sbin/pgbouncer. It refuses to run as root, so
(as PostgreSQL itself) it runs as pgserver's system user when the tests run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.db import postgres_binaries
from tests.ops.servers import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
POOL_SIZE = 3  # server connections per database: far fewer than the app's clients

_CONFIG = """[databases]
* = host={socket_dir} port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
logfile = {folder}/pgbouncer.log
"""


def _user() -> str | None:
    return "pgserver" if os.geteuid() == 0 else None


def _own(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("pgserver")
        os.chown(folder, owner.pw_uid, owner.pw_gid)


@contextmanager
def pgbouncer(socket_dir: Path, folder: Path) -> Iterator[int]:
    """PgBouncer on a free loopback port (yielded), pooling every database of the server."""
    _own(folder)
    port = free_port()
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    config = folder / "pgbouncer.ini"
    text = _CONFIG.format(socket_dir=socket_dir, port=port, folder=folder, pool_size=POOL_SIZE)
    config.write_text(text)
    process = subprocess.Popen([PGBOUNCER, str(config)], user=_user())
    try:
        _wait_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while admin(port, "SHOW VERSION") is None:
        assert process.poll() is None, "pgbouncer exited"
        assert time.monotonic() < deadline, "pgbouncer did not start"
        time.sleep(0.1)


def admin(port: int, command: str) -> str | None:
    """A command on PgBouncer's admin console (simple protocol: psql), its output."""
    psql = postgres_binaries() / "psql"
    args = [str(psql), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-At", "pgbouncer"]
    done = subprocess.run([*args, "-c", command], capture_output=True, text=True, timeout=10)
    return done.stdout if done.returncode == 0 else None
