"""The Deploy page: a deploy from git started from the form (run in the request here; a process
of its own on a host), its log read from an offset while it grows, form errors and failed
releases in words, the Roll back button, the deploy key, and who may do what."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from appliance.catalogue.models import Skill
from appliance.releases import deploy, runner
from appliance.releases.deploylog import read_from
from appliance.releases.models import DeployKey, Release

from .conftest import skill_files
from .test_skill_deploy import speech

pytestmark = pytest.mark.integration


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("alice", "a@example.org",
                                                                  "password"))
    return client


def page(slug: str = "quiz") -> str:
    return reverse("releases:deploy", args=[slug])


def log_of(client, number: int, offset: int = 0) -> dict:
    answer = client.get(reverse("releases:log", args=["quiz", number]), {"offset": offset})
    assert answer.status_code == 200
    return answer.json()


def test_a_deploy_from_the_page_serves_and_its_log_reads_from_an_offset(
        release_host, repository, admin_client):
    repository.commit(skill_files(), tag="v1")
    Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8190)
    answer = admin_client.post(page(), {"git_url": repository.url, "git_ref": "v1"})
    assert answer.status_code == 302 and answer["Location"].endswith("?release=1")
    whole = log_of(admin_client, 1)
    assert whole["done"] and whole["outcome"] == "built", whole
    assert "built release 1 of quiz" in whole["text"] and whole["summary"].startswith(
        "quiz serves release 1")
    rest = log_of(admin_client, 1, whole["offset"])
    assert (rest["text"], rest["offset"]) == ("", whole["offset"])
    half = len(whole["text"].encode()) // 2
    assert log_of(admin_client, 1, half)["text"] == whole["text"].encode()[half:].decode()
    assert speech(release_host) == "Hello from tinytool"

    html = admin_client.get(answer["Location"]).content.decode()
    assert "Serves release 1:" in html and 'id="rollback-1"' not in html  # the live one
    assert "data-follow" not in html and "built release 1 of quiz" in html
    assert admin_client.get(reverse("releases:log", args=["quiz", 1]),
                            {"offset": "-1"}).status_code == 400


def test_the_log_grows_while_the_helper_builds(release_host, repository, settings):
    """What the page polls: the release's log file, from an offset, while the deploy's lock is
    held; several pieces arrive before the deploy has ended."""
    repository.commit(skill_files(), tag="v1")
    skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8191)
    release = deploy.new_release(skill, kind=Release.GIT, git_url=repository.url,
                                 git_ref="v1")
    pieces, offset, done = [], 0, threading.Event()

    def follow():
        nonlocal offset
        while not done.is_set():
            text, offset = read_from(deploy.log_file(release), offset)
            if text and deploy.running("quiz"):
                pieces.append(text)
            time.sleep(0.05)

    watcher = threading.Thread(target=follow)
    watcher.start()
    try:
        deploy.deploy(release)
    finally:
        done.set()
        watcher.join()
    assert len(pieces) >= 3, pieces
    assert any("== the virtual environment" in piece for piece in pieces)


def test_bad_input_is_a_form_error_or_a_failed_release_in_words(release_host, admin_client):
    Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8192)
    html = admin_client.post(page(), {"git_url": "http://example.org/x.git"}).content.decode()
    assert "is not an https:// or ssh:// repository URL" in html
    html = admin_client.post(page(), {}).content.decode()
    assert "Give a git repository or a zip (one of them)." in html
    assert not Release.objects.exists()

    answer = admin_client.post(page(), {"git_url": "file:///nonexistent/repo.git"})
    html = admin_client.get(answer["Location"]).content.decode()
    assert "Cannot fetch file:///nonexistent/repo.git" in html
    assert Release.objects.get().outcome == Release.FAILED


def test_roll_back_from_the_page(release_host, repository, admin_client):
    Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8196)
    for tag, words in (("v1", '"one"'), ("v2", '"two"')):
        repository.commit(skill_files(speech=words, imports="", requirements=""), tag=tag)
        admin_client.post(page(), {"git_url": repository.url, "git_ref": tag})
    assert speech(release_host) == "two"
    html = admin_client.get(page()).content.decode()
    assert 'id="rollback-1"' in html and 'id="rollback-2"' not in html
    answer = admin_client.post(reverse("releases:rollback", args=["quiz", 1]), follow=True)
    assert "Quiz serves release 1 again" in answer.content.decode()  # the admin's capfirst
    assert speech(release_host) == "one"
    answer = admin_client.post(reverse("releases:rollback", args=["quiz", 9]), follow=True)
    assert "Not rolled back: release 9 of quiz is not kept" in answer.content.decode()


def test_the_deploy_key_is_made_shown_and_replaced_never_its_private_half(
        db, admin_client, settings, tmp_path):
    settings.APPLIANCE_DATA_DIR = tmp_path
    skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8193)
    admin_client.post(reverse("releases:deploy_key", args=["quiz"]))
    key = DeployKey.objects.get(skill=skill)
    assert key.public_key.startswith("ssh-ed25519 AAAA") and key.public_key.endswith(
        " appliance-deploy-quiz")
    assert key.private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    html = admin_client.get(page()).content.decode()
    assert key.public_key in html and "PRIVATE KEY" not in html
    admin_client.post(reverse("releases:deploy_key", args=["quiz"]))
    assert DeployKey.objects.get(skill=skill).public_key == key.public_key  # kept
    admin_client.post(reverse("releases:deploy_key", args=["quiz"]), {"replace": "1"})
    assert DeployKey.objects.get(skill=skill).public_key != key.public_key


def test_seeing_the_page_is_not_deploying(db, client, settings, tmp_path):
    settings.APPLIANCE_DATA_DIR = tmp_path
    skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8194)
    viewer = User.objects.create_user("carol", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_skill"))
    client.force_login(viewer)
    html = client.get(page()).content.decode()
    assert 'id="deploy-form"' not in html and 'id="make-key"' not in html
    for url in (page(), reverse("releases:deploy_key", args=["quiz"]),
                reverse("releases:rollback", args=["quiz", 1])):
        assert client.post(url, {"git_url": "https://example.org/x.git"}).status_code == 403
    assert not Release.objects.exists() and not DeployKey.objects.filter(skill=skill).exists()
    client.logout()
    assert client.get(page()).status_code == 302  # to the login page


def test_on_a_host_the_deploy_runs_in_a_process_of_its_own(db, settings, monkeypatch,
                                                           tmp_path):
    settings.RELEASES_RUN = "process"
    started = {}

    class Popen:
        def __init__(self, argv, **options):
            started.update(argv=argv, **options)

    monkeypatch.setattr(runner.subprocess, "Popen", Popen)
    skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8195)
    release = deploy.new_release(skill, kind=Release.GIT, git_url="https://example.org/x.git")
    runner.start(release)
    assert started["argv"][1:] == ["-m", "django", "skill_deploy", "quiz", "--release-id",
                                   str(release.pk)]
    assert started["start_new_session"] and started["env"]["DJANGO_SETTINGS_MODULE"]


def test_a_deploy_still_starting_is_followed_and_a_dead_one_is_said(db, admin_client, settings,
                                                                     tmp_path):
    """The page's own deploy process loads Django before it takes the skill's lock: a page
    opened meanwhile follows the log (found on the booted host), and only a release left
    building long after its start by a process that is gone is said to have stopped."""
    settings.APPLIANCE_DATA_DIR = tmp_path
    skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8196)
    release = deploy.new_release(skill, kind=Release.GIT, git_url="https://example.org/x.git")

    starting = admin_client.get(page(), {"release": release.number}).content.decode()
    assert 'data-follow="1"' in starting and "its process is gone" not in starting
    assert log_of(admin_client, release.number)["done"] is False

    Release.objects.filter(pk=release.pk).update(
        created=release.created - deploy.STARTUP_GRACE * 2)
    gone = admin_client.get(page(), {"release": release.number}).content.decode()
    assert "its process is gone" in gone
    answer = log_of(admin_client, release.number)
    assert answer["done"] is True and "process is gone" in answer["summary"]


def test_a_built_release_still_switching_over_is_followed_to_its_end(db, admin_client, settings,
                                                                      tmp_path):
    """Built is not done: the switch-over follows (found on the booted host, where the page
    stopped at "built" before the release was live)."""
    settings.APPLIANCE_DATA_DIR = tmp_path
    skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8197)
    release = deploy.new_release(skill, kind=Release.GIT, git_url="https://example.org/x.git")
    Release.objects.filter(pk=release.pk).update(
        outcome=Release.BUILT, created=release.created - deploy.STARTUP_GRACE * 2)
    with deploy.deploy_lock("quiz"):  # the deploy's process, switching over
        assert log_of(admin_client, release.number)["done"] is False
        following = admin_client.get(page(), {"release": release.number}).content.decode()
        assert 'data-follow="1"' in following
    Release.objects.filter(pk=release.pk).update(message="quiz serves release 1",
                                                 finished_at=release.created)
    answer = log_of(admin_client, release.number)
    assert answer["done"] is True and answer["summary"] == "quiz serves release 1"
