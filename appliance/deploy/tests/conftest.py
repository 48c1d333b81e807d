"""A throwaway host for the integration tests: the host's directories under a temporary root,
SysV init scripts (no systemd here), real Caddy on free high ports, real skill processes."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from appliance.catalogue.models import HostSettings, Skill
from appliance.render.layout import paths_under, write_layout
from skills.runtime.testing.builders import APPLICATION_ID
from skills.runtime.testing.process import free_port


@dataclasses.dataclass
class FakeHost:
    root: Path
    paths: object
    https_port: int
    http_port: int
    caddy_admin: str

    def skill(self, slug: str, source: str = "memory_game", **fields) -> Skill:
        fields.setdefault("name", slug.replace("-", " ").title())
        fields.setdefault("application_ids", APPLICATION_ID)
        return Skill.objects.create(slug=slug, source=source, port=free_port(), **fields)

    def on_disk(self, path: str) -> Path:
        return Path(self.paths.on_disk(path))

    def pid(self, name: str) -> str | None:
        pid_file = Path(self.paths.run_dir) / f"{name}.pid"
        return pid_file.read_text().strip() if pid_file.exists() else None

    def running(self, name: str) -> bool:
        pid = self.pid(name)
        return bool(pid) and Path(f"/proc/{pid}").exists()


def stop_everything(host: FakeHost) -> None:
    """Stop every daemon the test host started: through its init script, then by pid file."""
    initd = Path(host.paths.initd_dir)
    scripts = sorted(initd.glob("*")) if initd.is_dir() else []
    for script in scripts:
        subprocess.run([str(script), "stop"], capture_output=True, timeout=30, check=False)
    run_dir = Path(host.paths.run_dir)
    for pid_file in run_dir.glob("*.pid") if run_dir.is_dir() else []:
        with contextlib.suppress(ValueError, OSError):
            os.kill(int(pid_file.read_text().strip()), 9)


def caddy_host(root: Path, **layout) -> FakeHost:
    """A host under ``root`` (which Caddy's own user must be able to enter) with its
    ``layout.json``: Caddy on the test's own free ports, its API on a unix socket in its storage
    folder, as on a host (root reloads through it); root's settings, which the helper renders
    with as the admin does, and ``layout``'s."""
    paths = paths_under(root, venv=sys.prefix, caddy=shutil.which("caddy") or "/usr/bin/caddy")
    storage = root / "caddy-storage"
    host = FakeHost(root=root, paths=paths, https_port=free_port(), http_port=free_port(),
                    caddy_admin=f"unix/{storage}/admin.sock")
    storage.mkdir()
    caddy = pwd.getpwnam("caddy")
    os.chown(storage, caddy.pw_uid, caddy.pw_gid)
    write_layout(root / "layout.json", paths, init_flavour="sysv", skill_user="root",
                 admin_user="root", https_port=host.https_port, http_port=host.http_port,
                 caddy_admin=host.caddy_admin, caddy_storage=str(storage), **layout)
    return host


def admin_on(host: FakeHost, settings) -> None:
    """Point this process's admin at ``host``: its layout, its data and the helper run in
    process; the host's settings say SysV and localhost."""
    settings.APPLIANCE_LAYOUT = str(host.root / "layout.json")
    settings.APPLIANCE_DATA_DIR = Path(host.paths.data_dir)
    settings.APPLIANCE_HELPER = ["direct"]
    HostSettings.objects.update_or_create(pk=1, defaults={"init_flavour": "sysv",
                                                          "domain": "localhost"})


@pytest.fixture
def test_host(db, settings, monkeypatch):
    # Caddy runs as its own user: the root must be reachable by it (pytest's tmp_path is not).
    root = Path(tempfile.mkdtemp(prefix="appliance-it-"))
    root.chmod(0o755)
    host = caddy_host(root)
    admin_on(host, settings)
    try:
        yield host
    finally:
        stop_everything(host)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fake_helper(db, settings, tmp_path, monkeypatch):
    """A systemd host's layout under ``tmp_path`` and a helper that records what the apply
    asks it (appliance.deploy.tests.fakes.FakeHelper), with its health check."""
    from appliance.deploy import apply as apply_module

    from .fakes import FakeHelper, systemd_layout

    for name, value in systemd_layout(tmp_path).items():
        setattr(settings, name, value)
    calls = FakeHelper()
    monkeypatch.setattr(apply_module, "run_helper", calls)
    monkeypatch.setattr(apply_module.health, "wait_healthy", calls.wait_healthy)
    return calls
