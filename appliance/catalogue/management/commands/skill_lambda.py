from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.models import Skill
from appliance.deploy import lambdas
from skills.lambda_deploy.code import Image, check_bucket_name


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
        parser.add_argument("--s3-bucket", metavar="NAME",
                            help="the S3 bucket a zip over 50 MB goes through, made when "
                                 "missing (default: LAMBDA_S3_BUCKET, else one named after the "
                                 "account and region)")
        parser.add_argument("--image-uri", metavar="URI", default="",
                            help="run the function from this container image in ECR "
                                 "(ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG)")
        parser.add_argument("--image-context", metavar="DIR",
                            help="where the image's build context is written when the package "
                                 "is over 250 MB unzipped (default: <data dir>/lambda-images/"
                                 "SLUG)")

    def handle(self, *args, slug, back, memory, timeout, s3_bucket, image_uri, image_context,
               **options):
        skill = Skill.objects.filter(slug=slug).first()
        if skill is None:
            raise CommandError(f"slug: there is no skill {slug!r}")
        for_function = {"--memory": memory, "--timeout": timeout, "--s3-bucket": s3_bucket,
                        "--image-uri": image_uri, "--image-context": image_context}
        if back and any(value for value in for_function.values()):
            named = ", ".join(name for name, value in for_function.items() if value)
            raise CommandError(f"{named}: for the function, not for --back")
        if memory is not None and not 128 <= memory <= 10240:
            raise CommandError("--memory: Lambda takes 128 to 10240 MB")
        if timeout is not None and not 1 <= timeout <= 900:
            raise CommandError("--timeout: Lambda takes 1 to 900 seconds")
        for option, value, check in (("--image-uri", image_uri, Image.parse),
                                     ("--s3-bucket", s3_bucket, check_bucket_name)):
            try:
                if value:
                    check(value)
            except ValueError as error:
                raise CommandError(f"{option}: {error}") from None
        try:
            moved = lambdas.move(skill, back=back, memory=memory, timeout=timeout,
                                 image_uri=image_uri, s3_bucket=s3_bucket,
                                 image_context=image_context)
        except lambdas.ImageNeeded as error:
            raise CommandError(f"not moved: {error}") from None
        except lambdas.DeployError as error:
            done = "".join(f"\n  done before that: {line}" for line in error.done)
            raise CommandError(f"refused: {error}{done}") from None
        self.stdout.write(f"{'changed' if moved.changed else 'unchanged'}: skill {slug} "
                          f"{moved.where}")
        for line in [*moved.changes, *moved.notes]:
            self.stdout.write(f"  {line}")
