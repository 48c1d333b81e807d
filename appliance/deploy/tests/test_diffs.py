"""The diff of rendered files (deploy.diffs): golden texts for a first apply, a catalogue that
changed in every way a skill can, and attribute-only changes; secrets never in the text; the
text read back as the same per-file diffs. UPDATE_GOLDEN=1 rewrites the golden files."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from appliance.deploy import diffs
from appliance.render import render_all
from appliance.render.snapshot import SkillSpec
from appliance.render.tests.samples import local_catalogue, memory_game

pytestmark = pytest.mark.unit

GOLDEN = Path(__file__).parent / "golden" / "diffs"
OLD_SECRET, NEW_SECRET, QUIZ_SECRET = "s3cr%t$value", "rotated-secret-42", "quiz-only-secret-7"
TEMPLATES = "welcome: Welcome to the {{ name }}!\nbye: Goodbye.\n"


def records(cat) -> dict:
    """The files as records, secret ones with their real content: what a revision would hold
    before secretrefs, so that the tests see whether a value could leak."""
    return {f.path: {"content": f.content, "mode": f.mode, "owner": f.owner, "group": f.group,
                     "secret": f.secret, "check": f.executable_check} for f in render_all(cat)}


def changed_catalogue():
    """Memory Game moves port, loses its socket, gets new templates and a new secret; the
    conversation skill goes; a quiz skill with a secret of its own comes."""
    cat = local_catalogue()
    game = memory_game(port=9111, threads=2, test_console=True,
                       environment=(("GREETING", 'Say "hi" \\ wave'), ("LEVEL", "4")),
                       secrets=(("API_KEY", NEW_SECRET),), templates=TEMPLATES)
    quiz = SkillSpec(slug="quiz", name="Quiz", fqdn="quiz.localhost", port=9103,
                     source_path="/opt/appliance/skills/quiz", secrets=(("TOKEN", QUIZ_SECRET),))
    return replace(cat, skills=(game, quiz))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.diff"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs (UPDATE_GOLDEN=1)"


def attribute_records():
    base = {"mode": 0o644, "owner": "root", "group": "root", "secret": False, "check": ""}
    old = {"/etc/a.conf": {**base, "content": "same\n"},
           "/etc/b.env": {**base, "content": 'X="1"\n', "secret": True, "mode": 0o640},
           "/etc/c.txt": {**base, "content": "one\ntwo"},
           "/etc/d.txt": {**base, "content": "page\x0cbreak\nend\n"}}
    new = {"/etc/a.conf": {**base, "content": "same\n", "mode": 0o600},
           "/etc/b.env": {**base, "content": 'X="1"\n', "secret": True, "mode": 0o640,
                          "group": "skill-b"},
           "/etc/c.txt": {**base, "content": "one\ntwo\nthree\n"},
           "/etc/d.txt": {**base, "content": "page\x0cbreak\nthe end\n"}}
    return old, new


def test_a_first_apply_adds_every_file_and_shows_no_secret():
    found = diffs.diff_files({}, records(local_catalogue()))
    assert {d.status for d in found} == {"added"}
    text = diffs.unified(found)
    check_golden("first-apply", text)
    assert OLD_SECRET not in text and "API_KEY" not in text
    assert "(secret file added)" in text


def test_a_changed_catalogue_golden_diff():
    found = diffs.diff_files(records(local_catalogue()), records(changed_catalogue()))
    text = diffs.unified(found)
    check_golden("changed-catalogue", text)
    by_path = {d.path: d for d in found}
    assert by_path["/etc/systemd/system/alexa-skill-memory-game.socket"].status == "removed"
    assert by_path["/etc/systemd/system/alexa-skill-quiz.service"].status == "added"
    assert by_path["/etc/systemd/system/alexa-skill-conversation.service"].status == "removed"
    caddy = by_path["/etc/caddy/Caddyfile"]
    assert (caddy.status, caddy.secret) == ("changed", False)
    assert "+\treverse_proxy 127.0.0.1:9111" in "\n".join(caddy.lines)
    env = by_path["/etc/appliance/skills/memory-game.env"]
    assert (env.status, env.secret, env.lines) == ("changed", True, ())
    for secret in (OLD_SECRET, NEW_SECRET, QUIZ_SECRET, "API_KEY", "TOKEN", "LEVEL"):
        assert secret not in text


def test_mode_and_owner_changes_and_files_without_a_last_newline():
    found = diffs.diff_files(*attribute_records())
    text = diffs.unified(found)
    check_golden("attributes", text)
    by_path = {d.path: d for d in found}
    assert by_path["/etc/a.conf"].notes == ("mode 0o644 -> 0o600",)
    assert by_path["/etc/a.conf"].lines == ()
    # The same secret content: the group changed, nothing hidden.
    assert by_path["/etc/b.env"] == diffs.FileDiff("/etc/b.env", "changed",
                                                   ("group root -> skill-b",))
    assert (by_path["/etc/c.txt"].added, by_path["/etc/c.txt"].removed) == (2, 1)
    assert diffs.NO_NEWLINE in by_path["/etc/c.txt"].lines


def test_nothing_changed_is_no_diff_and_an_empty_text():
    files = records(local_catalogue())
    assert diffs.diff_files(files, files) == []
    assert diffs.unified([]) == ""
    assert diffs.parse("") == []


@pytest.mark.parametrize("make", [
    lambda: ({}, records(local_catalogue())),
    lambda: (records(local_catalogue()), records(changed_catalogue())),
    lambda: (records(changed_catalogue()), {}),
    attribute_records,
])
def test_the_text_reads_back_as_the_same_diffs(make):
    found = diffs.diff_files(*make())
    assert diffs.parse(diffs.unified(found)) == found


def test_the_summary_counts_lines_and_hidden_files():
    found = diffs.diff_files(records(local_catalogue()), records(changed_catalogue()))
    total = diffs.summary(found)
    assert total.files == len(found)
    assert total.added == sum(d.added for d in found) > 0
    assert total.removed == sum(d.removed for d in found) > 0
    # memory-game.env, conversation.env, quiz.env
    assert total.secret == 3


def test_an_older_revisions_text_still_reads():
    """Headers without a/ b/ and the blank line older revisions left after a mode change."""
    text = ("--- a/etc/x\n+++ b/etc/x\n# mode 0o644 -> 0o640\n\n"
            "--- /etc/caddy/Caddyfile\n+++ /etc/caddy/Caddyfile\n@@ -1,2 +1,2 @@\n"
            "-old {\n+new {\n \treverse_proxy 127.0.0.1:8101\n")
    x, caddy = diffs.parse(text)
    assert (x.path, x.notes, x.lines) == ("/etc/x", ("mode 0o644 -> 0o640",), ())
    assert caddy.path == "/etc/caddy/Caddyfile"
    assert (caddy.added, caddy.removed) == (1, 1)


@pytest.mark.parametrize("text", ["hello\n", "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n",
                                  "--- a/x\n+++ b/x\n@@ -1 +1 @@\nx\n"])
def test_text_that_is_no_such_diff_is_refused(text):
    with pytest.raises(ValueError):
        diffs.parse(text)
