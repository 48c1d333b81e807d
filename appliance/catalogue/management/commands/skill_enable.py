from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.models import Skill
from appliance.deploy.changes import record


class Command(BaseCommand):
    help = "Enable (or with --off disable) a skill; it starts or stops at the next apply."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--off", action="store_true", help="disable it")

    def handle(self, *args, slug, off, **options):
        skill = Skill.objects.filter(slug=slug).first()
        if skill is None:
            raise CommandError(f"slug: there is no skill {slug!r}")
        wanted = not off
        changed = skill.enabled != wanted
        if changed:
            skill.enabled = wanted
            skill.save(update_fields=["enabled", "updated"])
            record(f"{'enabled' if wanted else 'disabled'} skill {slug}")
        self.stdout.write(f"{'changed' if changed else 'unchanged'}: skill {slug} "
                          f"{'enabled' if wanted else 'disabled'}")
