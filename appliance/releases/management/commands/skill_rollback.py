"""Serve a kept release of a skill again: ``manage.py skill_rollback quiz 3``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.models import Skill
from appliance.releases import deploy


class Command(BaseCommand):
    help = ("Roll a skill back to one of its kept releases: its code, virtual environment, "
            "environment, unit and Caddy's route together, with the deploy's zero-downtime "
            "switch-over (secrets stay as they are). Prints 'changed: ...', or 'unchanged: ...' "
            "when it serves that release already.")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("number", type=int, help="the release to serve")

    def handle(self, *args, **options):
        skill = Skill.objects.filter(slug=options["slug"]).first()
        if skill is None:
            raise CommandError(f"there is no skill {options['slug']}")
        try:
            outcome = deploy.rollback(skill, options["number"], echo=self.stderr.write)
        except deploy.DeployError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{'changed' if outcome.changed else 'unchanged'}: {outcome.message}")
