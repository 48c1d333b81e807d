"""The sudoers drop-in: one command for one user (visudo's check: test_real_tools)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from appliance.render.sudoers import render_sudoers
from appliance.render.tests.samples import local_catalogue

pytestmark = pytest.mark.unit


def test_the_admin_user_may_run_the_helper_and_nothing_else():
    rules = [line for line in render_sudoers(local_catalogue()).content.splitlines()
             if line and not line.startswith("#")]
    assert rules == ["appliance ALL=(root) NOPASSWD: /usr/local/sbin/appliance-helper"]


def test_it_is_read_only_and_owned_by_root_as_sudo_requires():
    f = render_sudoers(local_catalogue())
    assert (f.path, f.mode, f.owner, f.group) == ("/etc/sudoers.d/appliance", 0o440, "root",
                                                  "root")


@pytest.mark.parametrize("user", ["ALL", "app,root", "app liance", ""])
def test_a_user_name_sudoers_would_misread_is_refused(user):
    cat = local_catalogue()
    with pytest.raises(ValueError, match="user name"):
        render_sudoers(replace(cat, host=replace(cat.host, admin_user=user)))


@pytest.mark.parametrize("helper", ["helper", "/usr/sbin/x, /bin/sh", "/a b", "/x:y", "/x\\"])
def test_a_helper_path_sudoers_would_misread_is_refused(helper):
    cat = local_catalogue()
    with pytest.raises(ValueError, match="path"):
        render_sudoers(replace(cat, paths=replace(cat.paths, helper=helper)))
