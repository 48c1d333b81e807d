from pathlib import Path

import pytest
from django.conf import settings

from appliance.catalogue.forms import SkillForm
from appliance.catalogue.models import HostSettings, Skill
from appliance.catalogue.ports import port_in_use_on_host
from appliance.test import MEMORY_GAME_MODEL, BaseTestCase

pytestmark = pytest.mark.unit

MODEL = MEMORY_GAME_MODEL


def data(**overrides):
    base = {"slug": "memory-game", "name": "Memory Game", "source_kind": "bundled",
            "source": "memory_game", "enabled": "on", "verify_requests": "on", "threads": 4,
            "idle_exit": 300, "hostname": "", "application_ids": "", "templates": "",
            "interaction_model": ""}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class SkillFormTestCase(BaseTestCase):
    def test_it_saves_a_bundled_skill_with_an_allocated_port(self):
        form = SkillForm(data())
        self.assertTrue(form.is_valid(), form.errors)
        skill = form.save()
        free = next(p for p in range(self.host.port_range_start, self.host.port_range_end)
                    if not port_in_use_on_host(p))
        self.assertEqual(skill.port, free)
        self.assertEqual(skill.url(), "https://memory-game.localhost/")

    def test_it_rejects_bad_slugs(self):
        for slug in ["memory game", "memory\ngame", "{memory}", "import os", "../etc",
                     "a/b", "-lead", "UPPER", "x" * 27, ""]:
            form = SkillForm(data(slug=slug))
            self.assertFalse(form.is_valid(), slug)
            self.assertIn("slug", form.errors, slug)

    def test_it_rejects_bad_hostnames(self):
        for hostname in ["has space", "new\nline", "br{ace}", "a..b", "under_score", "../x",
                         "a/b", "-x.example.org"]:
            form = SkillForm(data(hostname=hostname))
            self.assertFalse(form.is_valid(), hostname)
            self.assertIn("hostname", form.errors, hostname)

    def test_it_accepts_a_label_or_a_full_hostname(self):
        for slug, hostname, fqdn in [("one", "game", "game.localhost"),
                                     ("two", "game.example.org", "game.example.org")]:
            skill = SkillForm(data(slug=slug, hostname=hostname)).save()
            self.assertEqual(skill.fqdn(), fqdn)

    def test_it_rejects_a_duplicate_port(self):
        SkillForm(data(port=8100)).save()
        form = SkillForm(data(slug="other", port=8100))
        self.assertFalse(form.is_valid())
        self.assertIn("already used by memory-game", str(form.errors["port"]))

    def test_it_rejects_ports_out_of_range_or_reserved(self):
        HostSettings.objects.filter(pk=1).update(reserved_ports="2019,8105", admin_port=8150)
        for port, message in [(80, "outside"), (9500, "outside"), (8105, "reserved"),
                              (8150, "used by the admin")]:
            form = SkillForm(data(port=port))
            self.assertFalse(form.is_valid(), port)
            self.assertIn(message, str(form.errors["port"]), port)

    def test_it_rejects_invalid_templates(self):
        for text, message in [("welcome: [unclosed", "not valid YAML"),
                              ("- a list", "must map"),
                              ("round: '{{ numbers|join(', ') }'", "round")]:
            form = SkillForm(data(templates=text))
            self.assertFalse(form.is_valid())
            self.assertIn(message, str(form.errors["templates"]))

    def test_it_rejects_an_invalid_interaction_model(self):
        broken = MODEL.replace('"{first} {second} {third}"', '"{first} {fourth}"')
        form = SkillForm(data(interaction_model=broken))
        self.assertFalse(form.is_valid())
        self.assertIn("unknown slot {fourth}", str(form.errors["interaction_model"]))

    def test_it_accepts_the_memory_games_model(self):
        self.assertTrue(SkillForm(data(interaction_model=MODEL)).is_valid())

    def test_it_rejects_a_source_that_is_not_bundled(self):
        form = SkillForm(data(source="no_such_skill"))
        self.assertFalse(form.is_valid())
        self.assertIn("no bundled skill", str(form.errors["source"]))

    def test_it_rejects_a_source_path_escaping_its_folder(self):
        for source in ["../../etc", "/etc/passwd", "a\nb"]:
            form = SkillForm(data(source=source))
            self.assertFalse(form.is_valid(), source)

    def test_it_rejects_an_uploaded_skill_that_does_not_import(self):
        folder = Path(settings.APPLIANCE_DATA_DIR) / "skills" / "broken" / "src"
        folder.mkdir(parents=True)
        (folder / "app.py").write_text("import this_module_does_not_exist\n")
        form = SkillForm(data(slug="broken", source_kind="uploaded", source="src"))
        self.assertFalse(form.is_valid())
        self.assertIn("does not import", str(form.errors["source"]))
        self.assertIn("this_module_does_not_exist", str(form.errors["source"]))

    def test_it_rejects_an_uploaded_skill_that_is_not_there(self):
        form = SkillForm(data(slug="ghost", source_kind="uploaded", source="src"))
        self.assertFalse(form.is_valid())
        self.assertIn("no uploaded skill", str(form.errors["source"]))

    def test_it_rejects_bad_environment_lines(self):
        for text in ["NO_EQUALS", "lower=1", "ASK_VERIFY_REQUESTS=false", "PATH=/tmp"]:
            form = SkillForm(data(environment_text=text))
            self.assertFalse(form.is_valid(), text)
            self.assertIn("environment_text", form.errors)

    def test_it_refuses_environment_names_that_change_how_the_skill_runs(self):
        # (line, words of the message saying what it is or what to use instead)
        for line, says in [
            ("FLASK_DEBUG=1", "Flask"), ("FLASK_RUN_CERT=x", "Flask"),
            ("WERKZEUG_DEBUG_PIN=off", "Werkzeug"),
            ("PYTHONPATH=/tmp", "Python starts"), ("PYTHONSTARTUP=/tmp/x.py", "Python"),
            ("LD_PRELOAD=/tmp/x.so", "libraries"), ("OPENSSL_CONF=/tmp/x", "OpenSSL"),
            ("ASK_VERIFY_TIMESTAMP_DEBUG=false", "'Verify requests' switch"),
            ("ASK_VERIFY_REQUESTS=false", "'Verify requests' switch"),
            ("ASK_APPLICATION_ID=amzn1.ask.skill.x", "Application ids field"),
            ("ASK_EXTRA_CA_BUNDLE=/tmp/ca.pem", "'Test console' switch"),
            ("ASK_CA_BUNDLE=/tmp/ca.pem", "'Test console' switch"),
            ("ASK_TEMPLATES_PATH=/tmp/t.yaml", "Templates editor"),
            ("ASK_CERT_CACHE_DIR=/tmp", "certificate cache"),
            ("ASK_PRETTY_DEBUG_LOGS=1", "runtime setting"),
        ]:
            name = line.partition("=")[0]
            for field in ("environment_text", "secrets_text"):
                with self.subTest(line=line, field=field):
                    form = SkillForm(data(**{field: f"TZ=UTC\n{line}"}))
                    self.assertFalse(form.is_valid())
                    message = " ".join(form.errors[field])
                    self.assertIn(name, message)
                    self.assertIn(says, message)
        self.assertFalse(Skill.objects.exists())

    def test_it_still_takes_a_skills_own_variables(self):
        form = SkillForm(data(environment_text="TZ=Europe/Paris\nBEDROCK_MODEL_ID=m\n"
                              "ASKING=1\nFLASKY=1", secrets_text="API_KEY=k"))
        self.assertTrue(form.is_valid(), form.errors)
        self.assertEqual(form.save().environment, {"TZ": "Europe/Paris", "BEDROCK_MODEL_ID": "m",
                                                   "ASKING": "1", "FLASKY": "1"})

    def test_secrets_are_write_only_and_kept_unless_replaced(self):
        skill = SkillForm(data(secrets_text="API_KEY=first-Zq7\nOTHER=two")).save()
        form = SkillForm(data(secrets_text="API_KEY=three"), instance=skill)
        self.assertNotIn("first-Zq7", form.as_p())
        self.assertTrue(form.is_valid(), form.errors)
        skill = form.save()
        self.assertEqual(skill.secrets, {"API_KEY": "three", "OTHER": "two"})
        skill = SkillForm(data(remove_secrets=["OTHER"]), instance=skill)
        self.assertTrue(skill.is_valid(), skill.errors)
        self.assertEqual(skill.save().secrets, {"API_KEY": "three"})

    def test_nothing_is_saved_when_the_form_is_invalid(self):
        form = SkillForm(data(slug="bad slug"))
        self.assertFalse(form.is_valid())
        self.assertEqual(Skill.objects.count(), 0)
