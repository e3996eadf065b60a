"""A throwaway PostgreSQL cluster for the tests: initdb, pg_ctl start, one database per test.

The server binaries come from the distribution's packages (``/usr/lib/postgresql/<major>/bin``).
initdb refuses to run as root, so as root the cluster is made and run by the ``postgres`` system
user, in a folder under /tmp that it owns (pytest's own temporary folders are private to root).
The server listens on 127.0.0.1 on a free port with trust authentication and no durability:
it lives for one test session.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

USER = "postgres"
START_TIMEOUT_S = 30.0
INSTALL_HINT = (
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install "
    "postgresql-15 (apt-get install postgresql) or set MONITOR_TEST_POSTGRES=skip"
)


def find_bindir() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin that holds initdb, pg_ctl and postgres."""
    candidates = []
    for folder in glob.glob("/usr/lib/postgresql/*/bin"):
        path = Path(folder)
        if all((path / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            try:
                major = int(path.parent.name.split(".")[0])
            except ValueError:
                major = 0
            candidates.append((major, path))
    if not candidates:
        raise RuntimeError(INSTALL_HINT)
    return max(candidates)[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres_prefix() -> list[str]:
    """The command prefix that runs a program as the postgres user (empty when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(USER)
    except KeyError as exc:
        raise RuntimeError(
            f"running as root and there is no {USER!r} system user to run initdb as: install "
            "postgresql-15 (apt-get install postgresql) or set MONITOR_TEST_POSTGRES=skip"
        ) from exc
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", USER, "--"]
    # su -c takes one shell command line; _run quotes the arguments for it.
    su = shutil.which("su")
    if su:
        return [su, USER, "-s", "/bin/sh", "-c"]
    raise RuntimeError("running as root and neither runuser nor su is available")


class Cluster:
    """A running PostgreSQL server in a temporary folder; ``stop()`` removes every trace."""

    def __init__(self, bindir: Path, folder: Path, port: int, prefix: list[str]) -> None:
        self.bindir = bindir
        self.folder = folder
        self.datadir = folder / "data"
        self.logfile = folder / "server.log"
        self.port = port
        self.url = f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
        self._prefix = prefix
        self._counter = itertools.count(1)
        self._stopped = False

    # -- lifecycle -------------------------------------------------------------------------

    @classmethod
    def start(cls, workdir: Path) -> Cluster:
        """initdb and start a cluster; ``workdir`` is unused (the postgres user must own the
        folder, and pytest's folders are private to the user running pytest)."""
        del workdir
        bindir = find_bindir()
        prefix = _as_postgres_prefix()
        folder = Path(tempfile.mkdtemp(prefix="monitor-pg-", dir="/tmp"))
        cluster = cls(bindir, folder, free_port(), prefix)
        try:
            if prefix:
                entry = pwd.getpwnam(USER)
                folder.chmod(0o700)
                os.chown(folder, entry.pw_uid, entry.pw_gid)
            cluster._initdb()
            cluster._pg_ctl_start()
            cluster._wait_ready()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(a) for a in args]
        if self._prefix and self._prefix[-1] == "-c":  # su: one shell command line
            argv = [shlex.join(argv)]
        return subprocess.run(
            [*self._prefix, *argv],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.folder,
            timeout=120,
        )

    def _initdb(self) -> None:
        result = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "--auth=trust",
            "-U",
            USER,
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed ({result.returncode}): {(result.stderr or result.stdout).strip()}"
            )

    def _pg_ctl_start(self) -> None:
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.folder}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        result = self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "-t",
            str(int(START_TIMEOUT_S)),
            "start",
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"pg_ctl start failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()}\n{self.log_tail()}"
            )

    def _conninfo(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname={dbname} connect_timeout=5"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self._conninfo()) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                last = exc
                time.sleep(0.1)
        raise RuntimeError(
            f"PostgreSQL on 127.0.0.1:{self.port} did not accept connections within "
            f"{START_TIMEOUT_S:.0f} s ({last})\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "server log tail:\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server at once and remove its folder; safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if (self.datadir / "postmaster.pid").exists():
                self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"
                )
        except (OSError, subprocess.SubprocessError):
            pass
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- databases -------------------------------------------------------------------------

    def new_database(self) -> str:
        """CREATE DATABASE with a unique name; its SQLAlchemy URL."""
        name = f"test_{next(self._counter)}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{name}"
