"""Running the viewer: one uvicorn server on a socket bound before it starts."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable

import uvicorn

from .. import DbConfig, SessionDB
from .app import LOOPBACK_NAMES, create_app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, extra: list[str]) -> list[str]:
    """Host header names the server answers to: loopback names, the bound address, the given names."""
    names = [*LOOPBACK_NAMES, *extra]
    if not is_loopback(host):
        if host not in ("0.0.0.0", "::"):
            names.append(host)
        else:
            names.append(socket.gethostname())
    return names


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(db_path: str, sock: socket.socket, *, extra_hosts: list[str],
          on_ready: Callable[[], None] | None = None) -> None:
    """Serve until Ctrl-C / SIGTERM; the database is opened read-only and closed at the end."""
    db = SessionDB.connect(DbConfig.local(db_path, read_only=True))
    try:
        host = sock.getsockname()[0]
        app = create_app(db, allowed_hosts=allowed_hosts(host, extra_hosts), stopping=lambda: server.should_exit)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=3, server_header=False, date_header=False)
        server = uvicorn.Server(config)
        if on_ready is not None:
            on_ready()
        server.run(sockets=[sock])
    finally:
        db.close()
        sys.stdout.flush()
