from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.models import Skill
from appliance.deploy import lambdas


class Command(BaseCommand):
    help = ("Move a skill to AWS Lambda (package, create or update its function, the Alexa "
            "trigger, the endpoint through SMAPI), or with --back to this host again. AWS "
            "settings come from the environment (AWS_REGION, credentials, AWS_ENDPOINT_URL_*).")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--back", action="store_true", help="move it back to this host")
        parser.add_argument("--memory", type=int, metavar="MB",
                            help="the function's memory (128-10240 MB; default: the last used)")
        parser.add_argument("--timeout", type=int, metavar="S",
                            help="the function's timeout (1-900 s; default: the last used)")

    def handle(self, *args, slug, back, memory, timeout, **options):
        skill = Skill.objects.filter(slug=slug).first()
        if skill is None:
            raise CommandError(f"slug: there is no skill {slug!r}")
        if back and (memory or timeout):
            raise CommandError("--memory and --timeout are for the function, not for --back")
        if memory is not None and not 128 <= memory <= 10240:
            raise CommandError("--memory: Lambda takes 128 to 10240 MB")
        if timeout is not None and not 1 <= timeout <= 900:
            raise CommandError("--timeout: Lambda takes 1 to 900 seconds")
        try:
            smapi = lambdas.smapi_client()
            if back:
                changes = lambdas.to_host(skill, smapi=smapi)
            else:
                changes = lambdas.to_lambda(skill, memory=memory, timeout=timeout, smapi=smapi)
        except lambdas.DeployError as error:
            raise CommandError(f"refused: {error}") from None
        where = "on the host" if back else "on AWS Lambda"
        real = [c for c in changes if not c.startswith("no SMAPI client")]
        self.stdout.write(f"{'changed' if real else 'unchanged'}: skill {slug} {where}")
        for line in changes:
            self.stdout.write(f"  {line}")
