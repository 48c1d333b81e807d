import json

from django.core.management.base import BaseCommand

from appliance.catalogue.models import HostSettings, Skill


class Command(BaseCommand):
    help = "List the catalogue's skills (--json for machines: the provisioning roles)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        host = HostSettings.load()
        rows = [{"slug": s.slug, "name": s.name, "enabled": s.enabled, "port": s.port,
                 "url": s.url(host), "on_demand": s.on_demand}
                for s in Skill.objects.order_by("slug")]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            state = "enabled" if row["enabled"] else "disabled"
            self.stdout.write(f"{row['slug']:<26} {state:<9} {row['port']:<6} {row['url']}")
