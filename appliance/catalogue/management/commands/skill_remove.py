from django.core.management.base import BaseCommand

from appliance.catalogue.models import Skill
from appliance.deploy.changes import record


class Command(BaseCommand):
    help = "Remove a skill from the catalogue (its service goes away at the next apply)."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        deleted, _ = Skill.objects.filter(slug=slug).delete()
        if deleted:
            record(f"removed skill {slug}")
        self.stdout.write(f"{'changed' if deleted else 'unchanged'}: skill {slug}")
