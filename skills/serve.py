"""Serve one skill in a production WSGI server: waitress, one process, a few threads.

One process per skill keeps memory low and failures isolated; systemd can hand over the listening
socket (socket activation) and ``idle_exit`` lets an unused skill cost nothing until its next
request. SIGTERM stops accepting, lets running requests finish, and exits 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time

from waitress.server import create_server

log = logging.getLogger("skills.serve")

SD_LISTEN_FDS_START = 3
HEALTH_PATH = "/_skill/health"


class ServeError(Exception):
    """The server could not start; the message says why."""


def systemd_socket() -> socket.socket | None:
    """The socket systemd passed to this process (``LISTEN_FDS``), if any."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    count = int(os.environ.get("LISTEN_FDS", "0") or 0)
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)  # not for the children
    if count < 1:
        return None
    sock = socket.socket(fileno=SD_LISTEN_FDS_START)
    sock.setblocking(False)
    return sock


class Activity:
    """WSGI middleware: tracks requests in flight for idle exit, answers the health check."""

    def __init__(self, app, name: str):
        self.app = app
        self.name = name
        self.in_flight = 0
        self.last_seen = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") == "GET":
            body = json.dumps({"skill": self.name, "status": "ok"}).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        with self._lock:
            self.in_flight += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.last_seen = time.monotonic()

    def idle_for(self) -> float:
        with self._lock:
            return 0.0 if self.in_flight else time.monotonic() - self.last_seen


def _watch_idle(activity: Activity, idle_exit: float) -> None:
    while True:
        time.sleep(min(1.0, idle_exit / 4))
        if activity.idle_for() >= idle_exit:
            log.info("idle for %.0f s, exiting until the next request", idle_exit)
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _stop(signum, frame):
    # waitress ends its loop on SystemExit and waits for running requests.
    raise SystemExit(0)


def serve(app, *, host: str = "127.0.0.1", port: int = 5000, threads: int = 4,
          idle_exit: float | None = None, name: str = "skill") -> None:
    activity = Activity(app, name)
    options = {"threads": threads, "ident": "skill", "clear_untrusted_proxy_headers": True,
               "channel_timeout": 30}
    inherited = systemd_socket()
    try:
        if inherited is not None:
            server = create_server(activity, sockets=[inherited], **options)
        else:
            server = create_server(activity, host=host, port=port, **options)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if idle_exit:
        threading.Thread(target=_watch_idle, args=(activity, idle_exit), daemon=True).start()
    where = "systemd socket" if inherited is not None else f"http://{host}:{port}"
    log.info("serving %s on %s (%d threads, pid %d)", name, where, threads, os.getpid())
    try:
        server.run()
    finally:
        server.close()
        log.info("stopped %s", name)
