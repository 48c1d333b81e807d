"""Publish a skill to Alexa (development stage), as the page's button does."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.models import AlexaAccount, Skill
from appliance.console import alexa, publish
from skills.smapi import BuildFailed, SmapiError


class Command(BaseCommand):
    help = "Create or update the skill on Alexa, upload its models, enable it for testing."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, **options):
        skill = Skill.objects.filter(slug=options["slug"]).first()
        if skill is None:
            raise CommandError(f"no skill {options['slug']}")
        account = AlexaAccount.load()
        try:
            with alexa.smapi_client(account) as smapi:
                outcome = publish.publish(skill, smapi, account)
        except BuildFailed:
            lines = [f"{'line ' + str(e['line']) + ': ' if e['line'] else ''}{e['locale']}: "
                     f"{e['message']}" for e in skill.publication.build_errors]
            raise CommandError("the interaction model build failed:\n  " +
                               "\n  ".join(lines)) from None
        except SmapiError as exc:
            raise CommandError(f"not published: {exc}") from None
        if outcome.changed:
            self.stdout.write(f"changed: {skill.slug} is {outcome.skill_id}: "
                              + "; ".join(outcome.steps))
        else:
            self.stdout.write(f"unchanged: {skill.slug} is {outcome.skill_id}")
