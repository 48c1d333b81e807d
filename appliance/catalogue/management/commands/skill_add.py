"""Add a skill to the catalogue, or update it: ``manage.py skill_add memory-game ...``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from appliance.catalogue.forms import SkillForm
from appliance.catalogue.models import HostSettings, Skill

from ._base import save_form, secret_from_env

# Each switch is a pair of flags; giving neither leaves the setting as it is.
SWITCHES = {
    "enabled": ("--enabled", "--disabled"),
    "on_demand": ("--on-demand", "--no-on-demand"),
    "verify_requests": ("--verify", "--no-verify"),
}


class Command(BaseCommand):
    help = ("Add (or update) a skill in the catalogue; an update changes only what it is "
            "given, and each --x/--no-x pair leaves its setting alone unless one is given "
            "(both at once are refused). Secrets are read from the environment and never "
            "printed.")

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name")
        parser.add_argument("--source", help="bundled skill folder, e.g. memory_game")
        parser.add_argument("--uploaded", action="store_true",
                            help="the source is a folder under the data directory")
        parser.add_argument("--releases", action="store_true",
                            help="its code comes in releases (manage.py skill_deploy), not "
                            "from a source folder")
        parser.add_argument("--port", type=int)
        parser.add_argument("--hostname")
        parser.add_argument("--skill-id", action="append", default=None,
                            help="an Alexa skill ID allowed to call it (repeatable); the IDs "
                            "given replace the saved list")
        parser.add_argument("--clear-skill-ids", action="store_true",
                            help="remove every saved skill ID; with --skill-id, the IDs given "
                            "become the whole list")
        parser.add_argument("--enabled", action="store_true",
                            help="start it at the next apply (a new skill is enabled)")
        parser.add_argument("--disabled", action="store_true",
                            help="stop it at the next apply")
        parser.add_argument("--on-demand", action="store_true",
                            help="start on the first request, exit when idle")
        parser.add_argument("--no-on-demand", action="store_true",
                            help="run all the time (the default for a new skill)")
        parser.add_argument("--idle-exit", type=int, metavar="SECONDS",
                            help="an on-demand skill exits after this long unused (default 300)")
        parser.add_argument("--verify", action="store_true",
                            help="accept only requests signed by Amazon (the default for a "
                            "new skill)")
        parser.add_argument("--no-verify", action="store_true",
                            help="accept unsigned requests (never on a public host)")
        parser.add_argument("--test-console", choices=["on", "off"])
        parser.add_argument("--threads", type=int)
        parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                            help="an environment entry (repeatable); the entries given replace "
                            "the whole environment")
        parser.add_argument("--unset-env", action="append", default=[], metavar="NAME",
                            help="remove environment entry NAME (repeatable)")
        parser.add_argument("--secret-from-env", action="append", default=[], metavar="NAME",
                            help="set secret NAME from the environment variable NAME "
                            "(repeatable); other secrets are kept")
        parser.add_argument("--unset-secret", action="append", default=[], metavar="NAME",
                            help="remove secret NAME (repeatable)")
        parser.add_argument("--templates-file", help="templates.yaml to load")
        parser.add_argument("--model-file", help="interaction model JSON to load")

    def handle(self, *args, **options):
        # Every refusal comes before the form is saved, so bad input changes nothing.
        switches = {field: _switch(options, on, off) for field, (on, off) in SWITCHES.items()}
        unset_env = sorted(set(options["unset_env"]))
        unset_secrets = sorted(set(options["unset_secret"]))
        if options["env"] and unset_env:
            raise CommandError("--env replaces the whole environment and --unset-env removes "
                               "entries from it: give one or the other")
        both = sorted(set(options["secret_from_env"]) & set(unset_secrets))
        if both:
            raise CommandError(f"--secret-from-env and --unset-secret both name {', '.join(both)}")
        skill = Skill.objects.filter(slug=options["slug"]).first()
        _check_known("environment entry", unset_env, skill.environment if skill else {})
        _check_known("secret", unset_secrets, skill.secrets if skill else {})

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
        if options["releases"]:
            data["source_kind"] = Skill.SOURCE_RELEASE
        if options["clear_skill_ids"] or options["skill_id"] is not None:
            data["application_ids"] = "\n".join(options["skill_id"] or [])
        for field, value in switches.items():
            if value is not None:
                data[field] = value
        if options["test_console"]:
            data["test_console"] = options["test_console"] == "on"
        if options["env"]:
            data["environment_text"] = "\n".join(options["env"])
        if unset_env:
            data["environment_text"] = "\n".join(
                f"{k}={v}" for k, v in sorted((skill.environment or {}).items())
                if k not in unset_env)
        data["secrets_text"] = "\n".join(
            f"{name}={_one_line_secret(name)}" for name in options["secret_from_env"])
        data["remove_secrets"] = unset_secrets
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


def _switch(options: dict, on: str, off: str) -> bool | None:
    """True or False for one flag of a pair, None for neither; both is a mistake to refuse."""
    given_on, given_off = (options[flag.lstrip("-").replace("-", "_")] for flag in (on, off))
    if given_on and given_off:
        raise CommandError(f"{on} and {off} contradict each other: give one of them")
    return True if given_on else False if given_off else None


def _check_known(what: str, names: list[str], saved: dict | None) -> None:
    unknown = [name for name in names if name not in (saved or {})]
    if unknown:
        raise CommandError(f"there is no {what} {', '.join(unknown)} to remove")


def _one_line_secret(name: str) -> str:
    # A newline would smuggle a second NAME=value line into the secrets.
    value = secret_from_env(name)
    if "\n" in value or "\r" in value:
        raise CommandError(f"the environment variable {name} must hold one line")
    return value


def _current(skill: Skill) -> dict:
    """A bound form's data for an existing skill (booleans absent from data mean False)."""
    data = {field: getattr(skill, field) for field in SkillForm.Meta.fields}
    data["environment_text"] = "\n".join(f"{k}={v}" for k, v in sorted(
        (skill.environment or {}).items()))
    return {key: value for key, value in data.items() if value is not False}
