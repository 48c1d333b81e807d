"""Forms for the catalogue: the only way data gets in, from the UI and the commands alike."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import yaml
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from django.utils.html import escape

from . import conflicts, interaction, ports, templatecheck, validators
from .models import HostSettings, Skill
from .snapshot import BUNDLED_SKILLS


def parse_assignments(text: str, field: str) -> dict[str, str]:
    """``NAME=value`` lines into a dict; a bad line is a form error naming it."""
    values = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep:
            raise ValidationError(f"Line {number}: expected NAME=value.", code="assignment")
        validators.validate_env_name(name)
        validators.validate_env_value(value)
        values[name] = value
    return values


def check_skill_imports(target: str) -> None:
    """Import the skill in a separate process, as its service would."""
    try:
        result = subprocess.run([sys.executable, "-m", "skills", "check", target],
                                capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise ValidationError("The skill took more than 60 s to import.",
                              code="source") from None
    try:
        report = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        report = {"ok": False, "error": (result.stderr or "no output").strip()[-300:]}
    if not report.get("ok"):
        raise ValidationError(f"The skill does not import: {report.get('error')}",
                              code="source")


class SkillForm(forms.ModelForm):
    environment_text = forms.CharField(
        label="Environment", required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="NAME=value, one per line.")
    secrets_text = forms.CharField(
        label="Set secrets", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="NAME=value, one per line. Saved secrets are never shown again; "
        "enter a name again to replace its value.")
    remove_secrets = forms.MultipleChoiceField(required=False, choices=(),
                                               widget=forms.CheckboxSelectMultiple)
    check_source = True  # commands that only toggle a flag skip the import check

    class Meta:
        model = Skill
        fields = ["slug", "name", "source_kind", "source", "enabled", "port", "hostname",
                  "application_ids", "verify_requests", "threads", "on_demand", "idle_exit",
                  "test_console", "templates", "interaction_model"]
        widgets = {"templates": forms.Textarea(attrs={"rows": 12, "class": "code"}),
                   "interaction_model": forms.Textarea(attrs={"rows": 12, "class": "code"}),
                   "application_ids": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.host = HostSettings.load()
        if self.instance.pk:
            self.fields["slug"].disabled = True  # units, users and URLs are named after it
            self.fields["environment_text"].initial = "\n".join(
                f"{k}={v}" for k, v in sorted((self.instance.environment or {}).items()))
        secret_names = sorted((self.instance.secrets or {}) if self.instance.pk else {})
        self.fields["remove_secrets"].choices = [(name, name) for name in secret_names]
        if not secret_names:
            del self.fields["remove_secrets"]

    def clean_hostname(self):
        return (self.cleaned_data.get("hostname") or "").strip().lower()

    def clean_source(self):
        source = (self.cleaned_data.get("source") or "").strip()
        if self.cleaned_data.get("source_kind") == Skill.SOURCE_RELEASE and not source:
            return source  # its code comes with each release
        validators.validate_source(source)
        return source

    def clean_environment_text(self):
        return parse_assignments(self.cleaned_data.get("environment_text"), "environment")

    def clean_secrets_text(self):
        return parse_assignments(self.cleaned_data.get("secrets_text"), "secrets")

    def clean_templates(self):
        text = self.cleaned_data.get("templates") or ""
        if text.strip():
            validate_templates(text)
            # As the templates editor does: what the skill's sandbox refuses is not saved.
            templatecheck.check_sandboxed(text)
        return text

    def clean_interaction_model(self):
        text = self.cleaned_data.get("interaction_model") or ""
        if text.strip():
            errors = interaction.model_errors(text)
            if errors:
                raise ValidationError(errors, code="interaction_model")
        return text

    def _secrets(self) -> dict:
        secrets = dict(self.instance.secrets or {})
        for name in self.cleaned_data.get("remove_secrets") or []:
            secrets.pop(name, None)
        secrets.update(self.cleaned_data.get("secrets_text") or {})
        return secrets

    def clean(self):
        cleaned = super().clean()
        # The skill as it would be saved, checked beside the others as the apply would.
        candidate = construct_instance(self, copy.copy(self.instance))
        candidate.environment = cleaned.get("environment_text") or {}
        candidate.secrets = self._secrets()
        others = Skill.objects.exclude(pk=self.instance.pk) if self.instance.pk else \
            Skill.objects.all()
        for field, messages in conflicts.skill_errors(candidate, self.host,
                                                      list(others)).items():
            field = {"environment": "environment_text", "secrets": "secrets_text"}.get(field,
                                                                                       field)
            if field in self.fields and field not in self.errors:
                self.add_error(field, messages)
        kind, source, slug = (cleaned.get("source_kind"), cleaned.get("source"),
                              cleaned.get("slug") or self.instance.slug)
        if source and slug and self.check_source and kind != Skill.SOURCE_RELEASE:
            if kind == Skill.SOURCE_BUNDLED:
                target = BUNDLED_SKILLS / source
            else:
                target = Path(settings.APPLIANCE_DATA_DIR) / "skills" / slug / source
            if not target.exists():
                self.add_error("source", f"There is no {kind} skill called {source!r}.")
            else:
                try:
                    check_skill_imports(str(target))
                except ValidationError as exc:
                    self.add_error("source", exc)
        return cleaned

    def save(self, commit=True):
        skill = super().save(commit=False)
        skill.environment = self.cleaned_data.get("environment_text") or {}
        skill.secrets = self._secrets()
        if skill.port is None:
            skill.port = ports.allocate_port(self.host, skill)
        if commit:
            skill.save()
        return skill


def validate_templates(text: str) -> dict:
    """templates.yaml must map names to text, and every text must compile as Jinja2."""
    from jinja2 import Environment, TemplateSyntaxError

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"templates.yaml is not valid YAML: {exc}",
                              code="templates") from None
    if not isinstance(data, dict):
        raise ValidationError("templates.yaml must map template names to text.",
                              code="templates")
    env = Environment(autoescape=False)  # noqa: S701 — spoken text, not HTML
    for name, source in data.items():
        if not isinstance(source, str | int | float):
            raise ValidationError(f"Template {name!r} must be text.", code="templates")
        try:
            env.parse(str(source))
        except TemplateSyntaxError as exc:
            raise ValidationError(f"Template {name!r}: {exc.message} (line {exc.lineno})",
                                  code="templates") from None
    return data


class HostSettingsForm(forms.ModelForm):
    duckdns_token = forms.CharField(
        label="DuckDNS token", required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Write-only: leave empty to keep the saved token.")

    class Meta:
        model = HostSettings
        fields = ["domain", "admin_hostname", "acme_email", "certificate_authority",
                  "init_flavour", "duckdns_domains", "duckdns_token", "admin_port",
                  "port_range_start", "port_range_end", "reserved_ports",
                  "test_console_default"]
        labels = {"duckdns_domains": "DuckDNS domains", "acme_email": "ACME e-mail"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The admin shows help texts as HTML; these are plain text ("<skill>.<domain>").
        for field in self.fields.values():
            field.help_text = escape(field.help_text)

    def clean_duckdns_token(self):
        token = (self.cleaned_data.get("duckdns_token") or "").strip()
        if token:
            validators.validate_duckdns_token(token)
            return token
        return self.instance.duckdns_token  # keep the saved one

    def clean(self):
        cleaned = super().clean()
        # Checked against the saved skills: a new domain or admin name may clash with them.
        candidate = construct_instance(self, copy.copy(self.instance))
        for field, messages in conflicts.host_errors(candidate,
                                                     list(Skill.objects.all())).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, messages)
        return cleaned

    def clean_reserved_ports(self):
        text = self.cleaned_data.get("reserved_ports") or ""
        for item in validators.split_ids(text):
            if not item.isdigit() or not 1 <= int(item) <= 65535:
                raise ValidationError(f"{item!r} is not a port number.", code="ports")
        return ",".join(validators.split_ids(text))
