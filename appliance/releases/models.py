"""A skill's releases: each deploy from git or a zip, with its own code and virtual environment.

The rows say what was deployed and how the build went; the code and venv themselves are on the
host (``<releases_dir>/<slug>/<n>/``, root's, made by the helper's builder). Which release a
skill runs is the catalogue's ``Skill.release``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..catalogue.models import Skill


class Release(models.Model):
    BUILDING, BUILT, FAILED, UNCHANGED = "building", "built", "failed", "unchanged"
    OUTCOMES = [(BUILDING, "building"), (BUILT, "built"), (FAILED, "failed"),
                (UNCHANGED, "unchanged (the live release's code)")]
    GIT, ZIP = "git", "zip"

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="releases")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=[(GIT, "git"), (ZIP, "zip")])
    git_url = models.CharField(max_length=500, blank=True)
    git_ref = models.CharField(max_length=200, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    zip_name = models.CharField(max_length=200, blank=True)
    zip_sha256 = models.CharField(max_length=64, blank=True)
    # The skill's environment when the release went live: a rollback to it puts it back
    # (secrets stay as they are now, as a revision rollback leaves them).
    environment = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=16, choices=OUTCOMES, default=BUILDING)
    message = models.TextField(blank=True)  # what happened, in words; why it failed
    log = models.TextField(blank=True)  # the whole deploy log, once it has ended
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    built_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    went_live = models.DateTimeField(null=True, blank=True)  # the last time it took traffic

    class Meta:
        ordering = ["skill", "-number"]
        constraints = [models.UniqueConstraint(fields=["skill", "number"],
                                               name="one_release_number_per_skill")]
        permissions = [("deploy_release",
                        "Can deploy skills from git or a zip, and roll back their releases")]

    def __str__(self) -> str:
        return f"{self.skill.slug} release {self.number}"

    @property
    def source(self) -> str:
        if self.kind == self.GIT:
            where = f"{self.git_url} {self.git_ref or '(default branch)'}"
            return f"{where} at {self.commit[:12]}" if self.commit else where
        return f"{self.zip_name} (sha256 {self.zip_sha256[:12]})" if self.zip_sha256 \
            else self.zip_name

    @property
    def live(self) -> bool:
        return (self.skill.source_kind == Skill.SOURCE_RELEASE
                and self.skill.release == self.number)


class DeployKey(models.Model):
    """The SSH key a skill's deploys fetch its git repository with (one per skill). The public
    half goes into the repository's deploy keys; the private half never leaves the admin."""

    skill = models.OneToOneField(Skill, on_delete=models.CASCADE, related_name="deploy_key")
    private_key = models.TextField()  # OpenSSH format, never shown
    public_key = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"deploy key of {self.skill.slug}"
