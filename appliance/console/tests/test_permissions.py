"""Every console page and admin action against Django's permissions.

Each case names the permissions it needs. A staff user with exactly those gets through and the
action takes effect; one missing any single one of them gets a 403 and nothing changes: no row,
no apply, no rollback, no service command, no request sent to a skill.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from unittest import mock

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.urls import reverse

from appliance.catalogue.models import HostSettings, Revision, Skill
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase

from ..voicecheck import audio_path
from .fakes import FakeHelper
from .test_host_settings_admin import FORM as HOST_FORM
from .test_package_import import make_zip, package
from .test_skill_admin import ADD

VIEW, CHANGE, ADD_SKILL, DELETE = ("catalogue.view_skill", "catalogue.change_skill",
                                   "catalogue.add_skill", "catalogue.delete_skill")
CONTROL, CONSOLE = "catalogue.control_skill", "catalogue.use_test_console"
APPLY, ROLLBACK = "catalogue.apply_revision", "catalogue.rollback_revision"
VIEW_REVISION = "catalogue.view_revision"
VIEW_HOST, CHANGE_HOST = "catalogue.view_hostsettings", "catalogue.change_hostsettings"

SLUG = "memory-game"
UNIT = "alexa-skill-memory-game"
TURN = {"error": ""}
VOICE = {"ok": True, "link": "", "asked": "open memory game", "caption": "", "audio": False,
         "message": "Alexa opened memory game."}


@dataclass
class Case:
    perms: tuple[str, ...]
    method: str
    url: Callable  # (test case) -> str
    data: Callable = lambda t: {}
    # What an allowed request must have done, as checks that are all true afterwards.
    effect: Callable = lambda t: []
    extra: dict = field(default_factory=dict)


def console(name, *args):
    return lambda t: reverse(f"console:{name}", args=args)


def skill_admin(name):
    return lambda t: reverse(f"admin:catalogue_skill_{name}", args=[t.skill.pk])


def action(name, skill="skill"):
    return lambda t: {"action": name, "_selected_action": [getattr(t, skill).pk]}


def skill_field(name):
    return lambda t: getattr(Skill.objects.get(slug=SLUG), name)


def served(verb):
    return lambda t: [("service", verb, UNIT) in t.helper.calls]


def to_review(t) -> bool:
    """Sent on to the review of the pending diff; applied only from there."""
    return t.response.url.startswith(reverse("console:review")) and not t.apply.called


CHANGED_SKILL = {**ADD, "name": "Renamed", "port": "8101"}

CASES = {
    "dashboard": Case((VIEW,), "get", console("dashboard")),
    "review": Case((APPLY,), "get", console("review")),
    "apply": Case((APPLY,), "post", console("apply"), lambda t: {"digest": "d" * 64},
                  lambda t: [t.apply.called]),
    "revert": Case((ADD_SKILL, CHANGE, DELETE, CHANGE_HOST), "post", console("revert"),
                   effect=lambda t: [t.revert.called]),
    "templates_page": Case((VIEW,), "get", console("templates", SLUG)),
    "templates_preview": Case((VIEW,), "post", console("templates", SLUG),
                              lambda t: {"templates": "a: b\n", "preview": "Preview"}),
    "templates_save": Case((CHANGE,), "post", console("templates", SLUG),
                           lambda t: {"templates": "a: b\n", "save": "Save"},
                           lambda t: [skill_field("templates")(t) == "a: b\n"]),
    "templates_save_and_apply": Case(
        (CHANGE, APPLY), "post", console("templates", SLUG),
        lambda t: {"templates": "a: b\n", "apply": "Save and apply"},
        lambda t: [skill_field("templates")(t) == "a: b\n", to_review(t)]),
    "model_page": Case((VIEW,), "get", console("model", SLUG)),
    "model_save": Case((CHANGE,), "post", console("model", SLUG),
                       lambda t: {"interaction_model": MEMORY_GAME_MODEL, "save": "Save"},
                       lambda t: [skill_field("interaction_model")(t) == MEMORY_GAME_MODEL]),
    "model_save_and_apply": Case(
        (CHANGE, APPLY), "post", console("model", SLUG),
        lambda t: {"interaction_model": MEMORY_GAME_MODEL, "apply": "Save and apply"},
        lambda t: [skill_field("interaction_model")(t) == MEMORY_GAME_MODEL, to_review(t)]),
    "package_export": Case((VIEW,), "get", console("package_export", SLUG)),
    "package_import": Case(
        (CHANGE,), "post", console("package_import", SLUG),
        lambda t: {"package": SimpleUploadedFile("p.zip", make_zip(package()))},
        lambda t: [skill_field("interaction_model")(t) == MEMORY_GAME_MODEL]),
    "skill_logs": Case((VIEW,), "get", console("logs", SLUG)),
    "skill_logs_data": Case((VIEW,), "get", console("logs_data", SLUG)),
    "caddy_logs": Case((VIEW_HOST,), "get", console("logs", "caddy")),
    "caddy_logs_data": Case((VIEW_HOST,), "get", console("logs_data", "caddy")),
    "last_requests": Case((VIEW,), "get", console("last_requests")),
    "test_console_index": Case((VIEW, CONSOLE), "get", console("test_console_index")),
    "test_console_page": Case((VIEW, CONSOLE), "get", console("test_console", SLUG)),
    "test_console_send": Case((VIEW, CONSOLE), "post", console("test_console", SLUG),
                              lambda t: {"action": "launch"}, lambda t: [t.play.called]),
    "voice_check_page": Case((VIEW, CONSOLE), "get", console("voice_check", SLUG)),
    "voice_check_run": Case((VIEW, CONSOLE), "post", console("voice_check", SLUG),
                            effect=lambda t: [t.check.called]),
    "voice_check_audio": Case((VIEW, CONSOLE), "get", console("voice_check_audio", SLUG)),
    "skill_list": Case((VIEW,), "get", lambda t: reverse("admin:catalogue_skill_changelist")),
    "skill_add": Case((ADD_SKILL,), "post", lambda t: reverse("admin:catalogue_skill_add"),
                      lambda t: {**ADD, "slug": "added"},
                      lambda t: [Skill.objects.filter(slug="added").exists()]),
    "skill_change": Case((CHANGE,), "post", skill_admin("change"), lambda t: CHANGED_SKILL,
                         lambda t: [skill_field("name")(t) == "Renamed"]),
    "skill_save_and_apply": Case((CHANGE, APPLY), "post", skill_admin("change"),
                                 lambda t: {**CHANGED_SKILL, "_apply": "Save and apply"},
                                 lambda t: [skill_field("name")(t) == "Renamed",
                                            to_review(t)]),
    "skill_delete": Case((DELETE,), "post", skill_admin("delete"), lambda t: {"post": "yes"},
                         lambda t: [not Skill.objects.filter(slug=SLUG).exists()]),
    "action_enable": Case((CHANGE,), "post", lambda t: reverse(
        "admin:catalogue_skill_changelist"), action("enable", "disabled"),
        lambda t: [Skill.objects.get(slug="off").enabled]),
    "action_disable": Case((CHANGE,), "post", lambda t: reverse(
        "admin:catalogue_skill_changelist"), action("disable"),
        lambda t: [not skill_field("enabled")(t)]),
    "action_apply": Case((VIEW, APPLY), "post", lambda t: reverse(
        "admin:catalogue_skill_changelist"), action("apply_now"),
        lambda t: [to_review(t)]),
    **{f"action_{verb}": Case((VIEW, CONTROL), "post", lambda t: reverse(
        "admin:catalogue_skill_changelist"), action(verb), served(verb))
       for verb in ("start", "stop", "restart")},
    "revision_list": Case((VIEW_REVISION,), "get",
                          lambda t: reverse("admin:catalogue_revision_changelist")),
    "revision_page": Case((VIEW_REVISION,), "get", lambda t: reverse(
        "admin:catalogue_revision_change", args=[t.old.pk])),
    "rollback_page": Case((ROLLBACK,), "get", lambda t: reverse(
        "admin:catalogue_revision_rollback", args=[t.old.pk])),
    "rollback": Case((ROLLBACK,), "post", lambda t: reverse(
        "admin:catalogue_revision_rollback", args=[t.old.pk]), lambda t: {"digest": "d" * 64},
        lambda t: [t.rollback.called]),
    "host_list": Case((VIEW_HOST,), "get",
                      lambda t: reverse("admin:catalogue_hostsettings_changelist")),
    "host_page": Case((VIEW_HOST,), "get", lambda t: reverse(
        "admin:catalogue_hostsettings_change", args=[t.host.pk])),
    "host_change": Case((CHANGE_HOST,), "post", lambda t: reverse(
        "admin:catalogue_hostsettings_change", args=[t.host.pk]),
        lambda t: {**HOST_FORM, "duckdns_domains": ""},
        lambda t: [HostSettings.load().domain == "example.duckdns.org"]),
    "host_save_and_apply": Case((CHANGE_HOST, APPLY), "post", lambda t: reverse(
        "admin:catalogue_hostsettings_change", args=[t.host.pk]),
        lambda t: {**HOST_FORM, "duckdns_domains": "", "_apply": "Save and apply"},
        lambda t: [HostSettings.load().domain == "example.duckdns.org", to_review(t)]),
}


class PermissionMatrixTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.skill = Skill.objects.create(slug=SLUG, name="Memory Game", source="memory_game",
                                          port=8101)
        self.disabled = Skill.objects.create(slug="off", name="Off", source="memory_game",
                                             port=8102, enabled=False)
        self.old = Revision.objects.create(number=1, outcome=Revision.SUPERSEDED)
        Revision.objects.create(number=2, outcome=Revision.APPLIED)
        self.helper = FakeHelper(states={UNIT: "active", "caddy": "active"})
        self.patch("appliance.console.services.run_helper", new=self.helper)
        self.apply = self.patch("appliance.console.applying.apply_catalogue",
                                return_value=self.old)
        self.rollback = self.patch("appliance.console.applying.rollback_to",
                                   return_value=self.old)
        self.play = self.patch("appliance.console.testconsole.play_turn", return_value=TURN)
        self.check = self.patch("appliance.console.voicecheck.run_check", return_value=VOICE)
        self.revert = self.patch("appliance.console.revert.revert_catalogue",
                                 return_value=self.old)
        audio = audio_path(self.skill)
        audio.parent.mkdir(parents=True, exist_ok=True)
        audio.write_bytes(b"ID3 fake mp3")
        self.addCleanup(audio.unlink, missing_ok=True)
        cache.clear()
        self.addCleanup(cache.clear)

    def patch(self, target, **kwargs):
        patcher = mock.patch(target, **kwargs)
        self.addCleanup(patcher.stop)
        return patcher.start()

    def send(self, case: Case):
        return getattr(self.client, case.method)(case.url(self), case.data(self))

    def state(self) -> dict:
        """Everything a refused request must leave as it was."""
        return {"skills": [model_to_dict(s) for s in Skill.objects.order_by("pk")],
                "host": model_to_dict(HostSettings.load()),
                "revisions": Revision.objects.count(),
                "calls": [m.call_count for m in (self.apply, self.rollback, self.play,
                                                  self.check, self.revert)],
                "services": [c for c in self.helper.calls if c[0] == "service"]}

    def assert_allowed(self, case: Case):
        self.login(self.staff(*case.perms))
        r = self.response = self.send(case)
        r.close()  # a file response's file
        self.assertIn(r.status_code, (200, 302), b"" if r.streaming else r.content[:500])
        self.assertTrue(all(case.effect(self)), "the action did not take effect")

    def assert_refused(self, case: Case):
        for n, missing in enumerate(case.perms):
            with self.subTest(missing=missing):
                self.login(self.staff(*(p for p in case.perms if p != missing),
                                      username=f"carol{n}"))
                before = self.state()
                self.assertEqual(self.send(case).status_code, 403)
                self.assertEqual(self.state(), before)


def _allowed(case):
    return lambda self: self.assert_allowed(case)


def _refused(case):
    return lambda self: self.assert_refused(case)


# One test per case and outcome, each in its own transaction (what one did, the next never sees).
for _name, _case in CASES.items():
    setattr(PermissionMatrixTestCase, f"test_{_name}_works_with_exactly_its_permissions",
            _allowed(_case))
    setattr(PermissionMatrixTestCase, f"test_{_name}_is_refused_without_any_one_of_them",
            _refused(_case))
