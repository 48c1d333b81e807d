"""The Deploy page in a real browser follows a release's log while it is written (progress, not
a spinner): lines appear as the deploy writes them, then the outcome, then the page shows the
releases as they are."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from appliance.catalogue.models import Skill
from appliance.releases import deploy
from appliance.releases.deploylog import DeployLog
from appliance.releases.models import Release

PASSWORD = "a long browser-test password"


def test_the_build_log_appears_as_it_is_written(page, settings, tmp_path):
    settings.APPLIANCE_DATA_DIR = tmp_path
    User.objects.create_superuser("alice", "alice@example.org", PASSWORD)
    skill = Skill.objects.create(slug="quiz", name="Quiz", source_kind="release", port=8197)
    release = deploy.new_release(skill, kind=Release.GIT,
                                 git_url="https://example.org/quiz.git", git_ref="v1")
    log = DeployLog(deploy.log_file(release))
    # The deploy's own lock says it runs, as a deploy process holds it.
    with deploy.deploy_lock("quiz"):
        log.line("== git fetch https://example.org/quiz.git v1")
        page.goto("/admin/login/?next=/skills/quiz/deploy/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        shown = page.locator("#deploy-log")
        expect(shown).to_contain_text("== git fetch https://example.org/quiz.git v1")
        expect(page.locator("#deploy-status")).to_have_text(re.compile("^Building"))
        expect(page.locator("#deploy")).to_be_disabled()
        for step in ("== the virtual environment (Python 3.11, as skill-quiz)",
                     "Successfully installed tinytool-1.0 <script>alert(1)</script>"):
            log.line(step)
            expect(shown).to_contain_text(step)  # as text: build output is untrusted
        # As the deploy ends: its outcome, its message, finished.
        release.outcome, release.message = Release.BUILT, "quiz serves release 1 (v1)"
        release.log, release.finished_at = log.text(), timezone.now()
        release.save()
    log.close()
    expect(page.locator("#deploy-status")).to_have_text("quiz serves release 1 (v1)")
    # Then the page shows the releases as they are, and follows nothing any more.
    expect(page.locator("#releases")).to_contain_text("built")
    expect(page.locator("#deploy-log[data-follow]")).to_have_count(0)
    expect(shown).to_contain_text("Successfully installed tinytool-1.0")
