"""Add a skill to the catalogue, or update it: ``manage.py skill_add memory-game ...``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.forms import SkillForm
from appliance.catalogue.models import HostSettings, Skill

from ._base import save_form, secret_from_env


class Command(BaseCommand):
    help = "Add (or update) a skill in the catalogue. Secrets are read from the environment."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name")
        parser.add_argument("--source", help="bundled skill folder, e.g. memory_game")
        parser.add_argument("--uploaded", action="store_true",
                            help="the source is a folder under the data directory")
        parser.add_argument("--port", type=int)
        parser.add_argument("--hostname")
        parser.add_argument("--skill-id", action="append", default=None,
                            help="an Alexa skill ID allowed to call it (repeatable)")
        parser.add_argument("--disabled", action="store_true")
        parser.add_argument("--on-demand", action="store_true")
        parser.add_argument("--idle-exit", type=int, metavar="SECONDS",
                            help="an on-demand skill exits after this long unused (default 300)")
        parser.add_argument("--no-verify", action="store_true",
                            help="accept unsigned requests (never on a public host)")
        parser.add_argument("--test-console", choices=["on", "off"])
        parser.add_argument("--threads", type=int)
        parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
        parser.add_argument("--secret-from-env", action="append", default=[], metavar="NAME",
                            help="set secret NAME from the environment variable NAME")
        parser.add_argument("--templates-file", help="templates.yaml to load")
        parser.add_argument("--model-file", help="interaction model JSON to load")

    def handle(self, *args, **options):
        skill = Skill.objects.filter(slug=options["slug"]).first()
        host = HostSettings.load()
        data = _current(skill) if skill else {
            "slug": options["slug"], "name": options["slug"], "source_kind": "bundled",
            "source": "", "enabled": True, "verify_requests": True, "threads": 4,
            "idle_exit": 300, "test_console": host.test_console_default, "hostname": "",
            "application_ids": "", "templates": "", "interaction_model": "",
            "environment_text": "",
        }
        for option, field in [("name", "name"), ("source", "source"), ("port", "port"),
                              ("hostname", "hostname"), ("threads", "threads"),
                              ("idle_exit", "idle_exit")]:
            if options[option] is not None:
                data[field] = options[option]
        if options["uploaded"]:
            data["source_kind"] = Skill.SOURCE_UPLOADED
        if options["skill_id"] is not None:
            data["application_ids"] = "\n".join(options["skill_id"])
        if options["disabled"]:
            data["enabled"] = False
        if options["on_demand"]:
            data["on_demand"] = True
        if options["no_verify"]:
            data["verify_requests"] = False
        if options["test_console"]:
            data["test_console"] = options["test_console"] == "on"
        if options["env"]:
            data["environment_text"] = "\n".join(options["env"])
        data["secrets_text"] = "\n".join(
            f"{name}={secret_from_env(name)}" for name in options["secret_from_env"])
        for option, field in [("templates_file", "templates"), ("model_file",
                                                                "interaction_model")]:
            if options[option]:
                try:
                    with open(options[option], encoding="utf-8") as handle:
                        data[field] = handle.read()
                except OSError as exc:
                    raise CommandError(f"{option.replace('_', '-')}: {exc.strerror}") from None
        form = SkillForm(data, instance=skill)
        save_form(form, self, f"skill {options['slug']}")


def _current(skill: Skill) -> dict:
    """A bound form's data for an existing skill (booleans absent from data mean False)."""
    data = {field: getattr(skill, field) for field in SkillForm.Meta.fields}
    data["environment_text"] = "\n".join(f"{k}={v}" for k, v in sorted(
        (skill.environment or {}).items()))
    return {key: value for key, value in data.items() if value is not False}
