"""A throwaway PostgreSQL cluster for the mirror tests: initdb + pg_ctl in a temp directory.

The server listens on 127.0.0.1 (a free port) and on a Unix socket in its directory;
TCP connections need a password (scram-sha-256), so wrong-password errors are real.
Run as root, the cluster belongs to an unprivileged user (``postgres`` or ``nobody``),
because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ADMIN = "sessiondb_admin"
USER, PASSWORD = "mirror", "s3cret-pw"


def required() -> bool:
    """CI must have the server: tests then fail instead of skipping."""
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("SESSIONDB_REQUIRE_POSTGRES") == "1"


def find_bin(name: str) -> str | None:
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self) -> None:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise FileNotFoundError("initdb/pg_ctl not found (apt-get install postgresql)")
        self.pg_ctl = pg_ctl
        self.run_as = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.run_as = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
        self.dir = Path(tempfile.mkdtemp(prefix="sessiondb-pg-"))
        os.chmod(self.dir, 0o755)
        self.data = self.dir / "data"
        self.socket_dir = self.dir / "socket"
        self.socket_dir.mkdir()
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.run_as:
            for p in (self.dir, self.socket_dir, pwfile):
                os.chown(p, self.run_as.pw_uid, self.run_as.pw_gid)
        self.port = _free_port()
        self._run([initdb, "-D", str(self.data), "-U", ADMIN, "--encoding=UTF8", "--locale=C.UTF-8",
                   "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"])
        conf = (f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.socket_dir}'\nfsync = off\nsynchronous_commit = off\n"
                "full_page_writes = off\nshared_buffers = 128MB\nmax_connections = 60\n")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(conf)
        self._run([pg_ctl, "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60", "start"])
        self.admin(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}' CREATEDB")
        self._counter = 0

    def _run(self, argv: list[str], **kw) -> subprocess.CompletedProcess:
        user = self.run_as

        def demote() -> None:
            if user is not None:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)

        env = {**os.environ, "LC_ALL": "C.UTF-8"}
        for var in [v for v in env if v.startswith("PG")]:
            env.pop(var)
        return subprocess.run(argv, check=True, capture_output=True, text=True, preexec_fn=demote, env=env,
                              cwd=self.dir, **kw)

    def admin(self, sql: str, dbname: str = "postgres") -> str:
        psql = find_bin("psql")
        out = self._run([psql, "-h", str(self.socket_dir), "-p", str(self.port), "-U", ADMIN, "-d", dbname,
                         "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        return out.stdout

    def new_database(self) -> str:
        self._counter += 1
        name = f"mirror_{os.getpid()}_{self._counter}"
        self.admin(f"CREATE DATABASE {name} OWNER {USER}")
        return name

    def url(self, dbname: str, *, password: str | None = PASSWORD, user: str = USER) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        try:
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.05)
        shutil.rmtree(self.dir, ignore_errors=True)
