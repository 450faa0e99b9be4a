"""A throwaway PostgreSQL server for tests of the many-machine sweep path.

``PgServer`` runs ``initdb`` into a fresh temporary folder (trust authentication, durability off),
starts ``postgres`` on a free port that listens on 127.0.0.1 only with its socket in that folder,
creates databases on request and stops and deletes everything on exit. As root it runs the server
binaries as the ``postgres`` user (``runuser -u postgres --``): PostgreSQL refuses to run as root.

``unavailable()`` says why no server can be started here (no ``psycopg2``, no server binaries, no
``postgres`` user when running as root), or returns None.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def pg_bin() -> Path | None:
    """The newest installed server's bin folder that has ``initdb`` and ``pg_ctl``."""
    found = [
        Path(d)
        for d in glob.glob(PG_BIN_GLOB)
        if (Path(d) / "initdb").is_file() and (Path(d) / "pg_ctl").is_file()
    ]
    return max(found, key=_version, default=None)


def _version(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(x) for x in bin_dir.parent.name.split(".") if x.isdigit())


def unavailable() -> str | None:
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed (pip install psycopg2-binary)"
    if pg_bin() is None:
        return f"no PostgreSQL server binaries ({PG_BIN_GLOB}/initdb and pg_ctl)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is not installed"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """``with PgServer() as pg: url = pg.create_database("x")`` — stopped and deleted on exit."""

    def __init__(self) -> None:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self.bin = pg_bin()
        self.port = free_port()
        self.user = "postgres"
        # Not under pytest's tmp_path: as root that lies in a 0700 folder the postgres user cannot
        # enter. mkdtemp makes a 0700 folder in /tmp that is then handed to postgres.
        self.root = Path(tempfile.mkdtemp(prefix="ecgbench-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"

    def _as_server_user(self, *cmd: str | os.PathLike[str]) -> list[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return prefix + [str(c) for c in cmd]

    def _run(self, cmd: list[str], timeout: float = 120) -> None:
        # cwd: the server user may not be allowed into the caller's working directory
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if p.returncode != 0:
            log = self.log.read_text() if self.log.is_file() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stdout}{p.stderr}{log}")

    def commands(self) -> list[list[str]]:
        """The commands ``start`` runs, as they would be typed (for documentation)."""
        return [
            self._as_server_user(
                self.bin / "initdb",
                "-D",
                self.data,
                "-U",
                self.user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ),
            self._as_server_user(
                self.bin / "pg_ctl",
                "-D",
                self.data,
                "-l",
                self.log,
                "-w",
                "-t",
                "60",
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k {self.root} -F "
                "-c synchronous_commit=off -c full_page_writes=off",
                "start",
            ),
        ]

    def start(self) -> PgServer:
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        for cmd in self.commands():
            self._run(cmd)
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres")
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def stop(self) -> None:
        """Stop the server if one runs (even half-started) and delete its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                cmd = [self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"]
                self._run(self._as_server_user(*cmd), timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
