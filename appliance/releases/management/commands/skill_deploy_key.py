"""Print a skill's deploy key (made when it has none): ``manage.py skill_deploy_key quiz``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.models import Skill
from appliance.releases import keys


class Command(BaseCommand):
    help = ("Print the public half of the skill's deploy key (an Ed25519 key made for it, "
            "made now when it has none), to add to its repository's deploy keys; --new "
            "replaces it. The first line says 'changed: ...' when a key was made, else "
            "'unchanged: ...'. The private half is never printed.")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--new", action="store_true", help="replace the key")

    def handle(self, *args, **options):
        skill = Skill.objects.filter(slug=options["slug"]).first()
        if skill is None:
            raise CommandError(f"there is no skill {options['slug']}")
        key, made = keys.deploy_key(skill, new=options["new"])
        self.stdout.write(f"{'changed' if made else 'unchanged'}: deploy key of {skill.slug}")
        self.stdout.write(key.public_key)
