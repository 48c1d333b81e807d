"""How the admin reaches the helper: its unix socket (a real one here, answered by the real
helper started per connection as systemd's Accept=yes does), or a child process when root."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from appliance.deploy import client

pytestmark = pytest.mark.integration

NOBODY = 65534


class Canned(threading.Thread):
    """A socket that answers each connection with the next canned bytes (or never)."""

    def __init__(self, path: Path, answers: list[bytes | None]):
        super().__init__(daemon=True)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen()
        self.answers, self.requests = answers, []

    def run(self):
        while self.answers:
            conn, _ = self.server.accept()
            with conn:
                self.requests.append(conn.makefile("rb").read())
                answer = self.answers.pop(0)
                if answer is None:
                    threading.Event().wait(3)
                    continue
                conn.sendall(answer)


def test_the_client_turns_answers_into_results_or_errors(settings, tmp_path):
    path = tmp_path / "helper.sock"
    server = Canned(path, [b'{"ok": true, "message": "done"}\n',
                           b'{"ok": false, "refused": true, "message": "no such service"}\n',
                           b"Traceback (most recent call last)\n",
                           b'{"ok": false, "state": "failed", "message": "x"}\n', None])
    server.start()
    settings.APPLIANCE_HELPER = ["socket", str(path)]
    assert client.run_helper("daemon-reload")["message"] == "done"
    assert server.requests[0] == b'{"args": ["daemon-reload"]}'
    with pytest.raises(client.HelperError, match="no such service") as caught:
        client.run_helper("service", "start", "sshd")
    assert caught.value.refused
    with pytest.raises(client.HelperError, match="not JSON: Traceback"):
        client.run_helper("daemon-reload")
    assert client.run_helper("service", "status", "caddy", check=False)["state"] == "failed"
    with pytest.raises(client.HelperError, match="did not answer within 1 s") as caught:
        client.run_helper("state", timeout=1)
    assert caught.value.timed_out


def test_a_helper_that_is_not_there_is_said_in_words(settings, tmp_path):
    settings.APPLIANCE_HELPER = ["socket", str(tmp_path / "missing.sock")]
    with pytest.raises(client.HelperError, match=r"cannot reach the helper at .*missing\.sock"):
        client.run_helper("status-all")


def test_direct_mode_sends_the_request_to_a_child_helper(settings, tmp_path):
    settings.APPLIANCE_HELPER = ["direct"]
    settings.APPLIANCE_LAYOUT = str(tmp_path / "layout.json")
    with pytest.raises(client.HelperError, match="unknown action 'kill'") as caught:
        client.run_helper("service", "kill", "caddy")
    assert caught.value.refused


def serve_helper(path: Path) -> subprocess.Popen:
    """Accept one connection and hand it to the real helper as its stdin and stdout, as
    systemd's Accept=yes socket does."""
    code = (
        "import os, socket, subprocess, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777)\n"
        "s.listen(); print('ready', flush=True); conn, _ = s.accept()\n"
        "subprocess.run([sys.executable, '-m', 'appliance.helper', '--socket'],"
        " stdin=conn, stdout=conn)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                              text=True)
    assert server.stdout.readline() == "ready\n"
    return server


def ask_as(uid: int, path: Path) -> str:
    code = ("import socket, sys\n"
            "c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1])\n"
            "c.sendall(b'{\"args\": [\"service\", \"kill\", \"caddy\"]}')\n"
            "c.shutdown(socket.SHUT_WR); print(c.makefile().read())\n")
    # The system's Python: another user may not reach this venv's interpreter.
    done = subprocess.run(["/usr/bin/python3", "-c", code, str(path)], capture_output=True,
                          text=True, user=uid, group=uid, extra_groups=[], check=False,
                          timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
@pytest.mark.parametrize(("uid", "words"), [
    (0, "unknown action 'kill'"),  # through the check: the request itself is refused
    (NOBODY, f"user {NOBODY} may not use the appliance's helper"),
])
def test_the_helper_asks_the_kernel_who_is_calling(uid, words):
    # Even with the socket's file open to all, the helper itself refuses other users.
    folder = Path(tempfile.mkdtemp(prefix="appliance-helper-test-"))  # pytest's is root's only
    folder.chmod(0o755)
    path = folder / "helper.sock"
    server = serve_helper(path)
    try:
        assert words in ask_as(uid, path)
    finally:
        server.kill()
        server.wait(timeout=60)
        shutil.rmtree(folder)
