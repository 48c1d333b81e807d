"""The local host's guest shares this machine's network and sees /proc/sys read-only: its
``net.*`` settings from /etc/sysctl.d are applied on the machine, and nothing else is."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "provisioning"))

import testhost  # provisioning/ is not a package

pytestmark = pytest.mark.unit


@pytest.fixture
def host(tmp_path):
    host = testhost.TestHost(tmp_path / "host", 2222)
    conf = host.guest / "etc/sysctl.d"
    conf.mkdir(parents=True)
    (conf / "60-caddy.conf").write_text("# a comment = 1\n; another = 2\n"
                                        "net.ipv4.tcp_migrate_req = 1\n\n"
                                        "net.ipv4.not_in_this_kernel = 1\n")
    (conf / "10-kernel.conf").write_text("kernel.panic = 10\n")
    (conf / "README").write_text("net.ipv4.ip_forward = 1\n")
    return host


@pytest.fixture
def proc_sys(tmp_path):
    root = tmp_path / "proc-sys"
    (root / "net/ipv4").mkdir(parents=True)
    (root / "net/ipv4/tcp_migrate_req").write_text("0\n")
    (root / "net/ipv4/ip_forward").write_text("0\n")
    return root


def test_it_applies_the_guests_network_settings(host, proc_sys):
    assert host.load_network_settings(proc_sys) == {"net.ipv4.tcp_migrate_req": "1"}
    assert (proc_sys / "net/ipv4/tcp_migrate_req").read_text() == "1\n"


def test_it_leaves_other_settings_and_files_alone(host, proc_sys):
    host.load_network_settings(proc_sys)
    assert (proc_sys / "net/ipv4/ip_forward").read_text() == "0\n"  # not in a .conf file
    assert not (proc_sys / "kernel").exists()


def test_a_guest_without_settings_changes_nothing(tmp_path, proc_sys):
    assert testhost.TestHost(tmp_path / "bare", 2222).load_network_settings(proc_sys) == {}


def test_a_setting_this_kernel_lacks_is_skipped(host, proc_sys):
    assert "net.ipv4.not_in_this_kernel" not in host.load_network_settings(proc_sys)
    assert not (proc_sys / "net/ipv4/not_in_this_kernel").exists()
