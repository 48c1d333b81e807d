"""Deploy a skill from git or a zip: ``manage.py skill_deploy quiz --git URL [--ref REF]``."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.forms import SkillForm
from appliance.catalogue.management.commands._base import form_errors
from appliance.catalogue.models import HostSettings, Skill
from appliance.deploy.changes import record
from appliance.releases import deploy, fetch
from appliance.releases.models import Release


class Command(BaseCommand):
    help = ("Deploy a skill's code from a git repository (at a branch, tag or commit) or a zip "
            "as a new release: built in its own virtual environment, health-checked, then "
            "given the traffic. Prints 'changed: ...', or 'unchanged: ...' when that code is "
            "live already; the build's log goes to standard error. A skill not in the "
            "catalogue yet is added (its settings: skill_add).")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--git", metavar="URL", help="https://, ssh:// or git@host:path")
        source.add_argument("--zip", metavar="FILE", help="a zip of the skill's folder")
        parser.add_argument("--ref", default="", help="branch, tag or commit (default: the "
                            "repository's default branch)")
        # The Deploy page's own run of a release it recorded (settings.RELEASES_RUN).
        parser.add_argument("--release-id", type=int, help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["release_id"]:
            release = Release.objects.filter(pk=options["release_id"], outcome=Release.BUILDING,
                                             skill__slug=options["slug"]).first()
            if release is None:
                raise CommandError(f"no release of {options['slug']} waits to be deployed "
                                   f"as {options['release_id']}")
        else:
            release = self._new_release(options)
        try:
            outcome = deploy.deploy(release, user=release.created_by,
                                    echo=self.stderr.write)
        except deploy.DeployError as exc:
            raise CommandError(f"release {release.number} of {release.skill.slug}: {exc}") \
                from None
        self.stdout.write(f"{'changed' if outcome.changed else 'unchanged'}: {outcome.message}")

    def _new_release(self, options) -> Release:
        # Every refusal comes before a release is recorded.
        if not options["git"] and not options["zip"]:
            raise CommandError("give --git URL [--ref REF] or --zip FILE")
        if options["ref"] and not options["git"]:
            raise CommandError("--ref goes with --git")
        try:
            if options["git"]:
                fetch.check_git_url(options["git"])
                fetch.check_ref(options["ref"])
        except fetch.FetchError as exc:
            raise CommandError(str(exc)) from None
        upload = Path(options["zip"]) if options["zip"] else None
        if upload is not None and not upload.is_file():
            raise CommandError(f"--zip {upload}: no such file")
        skill = Skill.objects.filter(slug=options["slug"]).first() or _add_skill(options["slug"])
        if options["git"]:
            return deploy.new_release(skill, kind=Release.GIT, git_url=options["git"],
                                      git_ref=options["ref"])
        release = deploy.new_release(skill, kind=Release.ZIP, zip_name=upload.name[:200])
        deploy.upload_file(release).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(upload, deploy.upload_file(release))
        return release


def _add_skill(slug: str) -> Skill:
    host = HostSettings.load()
    form = SkillForm({"slug": slug, "name": slug, "source_kind": Skill.SOURCE_RELEASE,
                      "source": "", "enabled": True, "verify_requests": True, "threads": 4,
                      "idle_exit": 300, "test_console": host.test_console_default})
    if not form.is_valid():
        raise CommandError(f"skill {slug} not added: {form_errors(form)}")
    skill = form.save()
    record(f"added skill {slug} (deployed releases)")
    return skill
