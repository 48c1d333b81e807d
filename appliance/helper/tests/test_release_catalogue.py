"""A skill that runs a release: its service runs the release's interpreter on the release's code,
the wire takes that code's path and no other, and the helper installs nothing for a release
the builder has not completed on this host."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from appliance.helper import wire
from appliance.helper.policy import Refused
from appliance.render import Catalogue, HostSpec, SkillSpec, render_all
from appliance.render.layout import paths_under

from .fakes import ask_helper, helper_layout

pytestmark = pytest.mark.unit


def catalogue(paths, release: int = 3, flavour: str = "systemd", **changes) -> Catalogue:
    code = f"{paths.releases_dir}/quiz/{release}/code"
    skill = SkillSpec(slug="quiz", name="Quiz", fqdn="quiz.localhost", port=8101,
                      source_path=changes.pop("source_path", code), release=release, **changes)
    return Catalogue(host=HostSpec(init_flavour=flavour), skills=(skill,), paths=paths)


@pytest.mark.parametrize("flavour", ["systemd", "sysv"])
def test_the_service_runs_the_release_s_interpreter_on_its_code(tmp_path, flavour):
    paths = paths_under(tmp_path)
    files = {f.path: f.content for f in render_all(catalogue(paths, flavour=flavour))}
    service = files[f"{paths.systemd_dir}/alexa-skill-quiz.service" if flavour == "systemd"
                    else f"{paths.initd_dir}/alexa-skill-quiz"]
    release = f"{paths.releases_dir}/quiz/3"
    assert f"{release}/venv/bin/python" in service and f"{release}/code --bind" in service
    assert paths.python not in service


def test_a_skill_without_a_release_still_runs_the_appliance_s_venv(tmp_path):
    paths = paths_under(tmp_path)
    cat = catalogue(paths, release=0, source_path="/srv/skills/quiz")
    unit = {f.path: f.content for f in render_all(cat)}[
        f"{paths.systemd_dir}/alexa-skill-quiz.service"]
    assert f"ExecStart={paths.python} -m skills serve /srv/skills/quiz " in unit


def test_the_wire_takes_the_release_s_code_and_nothing_else(tmp_path):
    paths = paths_under(tmp_path)
    data = wire.to_wire(catalogue(paths))
    assert data["skills"][0]["release"] == 3
    back = wire.from_wire(data, paths, {}, "/nowhere")
    assert back.skills[0] == catalogue(paths).skills[0]
    for path in (f"{paths.releases_dir}/quiz/2/code", f"{paths.releases_dir}/other/3/code",
                 f"{paths.data_dir}/skills/quiz/src", "/tmp/evil"):
        data["skills"][0]["source_path"] = path
        with pytest.raises(Refused, match="release 3's code is"):
            wire.from_wire(data, paths, {}, "/nowhere")
    data["skills"][0].update(source_path=f"{paths.releases_dir}/quiz/3/code", release=-1)
    with pytest.raises(Refused, match="release must be from 0"):
        wire.from_wire(data, paths, {}, "/nowhere")


def test_a_release_the_builder_did_not_complete_is_never_installed(tmp_path, capsys,
                                                                   monkeypatch):
    paths = paths_under(tmp_path / "root", caddy="/usr/bin/caddy")
    helper_layout(tmp_path / "layout.json", paths, monkeypatch)
    data = wire.to_wire(catalogue(paths, flavour="sysv"))
    request = {"args": ["install", "1"], "catalogue": data, "catalogue_id": "c1"}
    folder = Path(paths.releases_dir, "quiz", "3")
    folder.mkdir(parents=True)  # a build that died: no release.json
    code, answer = ask_helper(capsys, monkeypatch, request)
    assert code == 1 and "release 3 of quiz is not on this host" in answer["message"]
    assert not Path(paths.caddyfile).exists()

    (folder / "release.json").write_text("{}")
    code, answer = ask_helper(capsys, monkeypatch, request)
    assert code == 0, answer
    os.chown(folder / "release.json", 65534, 65534)  # not root's: not the builder's marker
    code, answer = ask_helper(capsys, monkeypatch, {**request, "args": ["install", "2"]})
    assert code == 1 and "is not on this host" in answer["message"]


def test_every_skill_field_is_on_the_wire():
    assert {f.name for f in dataclasses.fields(SkillSpec)} == set(wire.SKILL_FIELDS)
