"""The catalogue: what should run on this host. Every served file is rendered from it."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from . import validators
from .interaction import load_json

PORT_VALIDATORS = [MinValueValidator(1024), MaxValueValidator(65535)]


class Singleton(models.Model):
    """A model of one row (pk 1), made on first use: ``Model.load()``."""

    class Meta:
        abstract = True

    @classmethod
    def load(cls):
        row, _ = cls.objects.get_or_create(pk=1)
        return row


class HostSettings(Singleton):
    """The host's own settings; one row (``HostSettings.load()``)."""

    CA_LETSENCRYPT = "letsencrypt"
    CA_STAGING = "letsencrypt-staging"
    CA_INTERNAL = "internal"
    CA_CHOICES = [
        (CA_LETSENCRYPT, "Let's Encrypt"),
        (CA_STAGING, "Let's Encrypt staging (untrusted certificates, for trials)"),
        (CA_INTERNAL, "Caddy's internal CA (a local host)"),
    ]
    INIT_SYSTEMD = "systemd"
    INIT_SYSV = "sysv"
    INIT_CHOICES = [(INIT_SYSTEMD, "systemd units"), (INIT_SYSV, "SysV init scripts")]

    domain = models.CharField(
        max_length=253, default="localhost", validators=[validators.validate_hostname],
        help_text="Skills get <skill>.<domain> unless they name a full host.")
    admin_hostname = models.CharField(
        max_length=253, default="admin", validators=[validators.validate_hostname],
        help_text="The admin's host name: a label under the domain, or a full name.")
    acme_email = models.CharField(max_length=254, blank=True,
                                  validators=[validators.validate_email])
    certificate_authority = models.CharField(max_length=32, choices=CA_CHOICES,
                                             default=CA_INTERNAL)
    init_flavour = models.CharField(max_length=16, choices=INIT_CHOICES, default=INIT_SYSTEMD)
    duckdns_domains = models.CharField(
        max_length=500, blank=True, validators=[validators.validate_duckdns_domains],
        help_text="DuckDNS subdomains to keep pointed at this host, comma-separated.")
    duckdns_token = models.CharField(max_length=64, blank=True,
                                     validators=[validators.validate_duckdns_token])
    duckdns_last_update = models.DateTimeField(null=True, blank=True)
    duckdns_last_result = models.CharField(max_length=200, blank=True)
    admin_port = models.PositiveIntegerField(default=8000, validators=PORT_VALIDATORS)
    port_range_start = models.PositiveIntegerField(default=8100, validators=PORT_VALIDATORS)
    port_range_end = models.PositiveIntegerField(default=8999, validators=PORT_VALIDATORS)
    reserved_ports = models.CharField(
        max_length=500, blank=True, default="2019",
        help_text="Ports the host uses for other things, comma-separated (2019: Caddy's API).")
    test_console_default = models.BooleanField(
        default=True, help_text="New skills trust the test console's signing CA.")

    class Meta:
        verbose_name = verbose_name_plural = "host settings"

    def __str__(self) -> str:
        return f"Host {self.domain}"

    def clean(self) -> None:
        if self.port_range_start > self.port_range_end:
            raise ValidationError({"port_range_end": "The range ends before it starts."})
        if self.certificate_authority != self.CA_INTERNAL and not self.acme_email:
            raise ValidationError({"acme_email": "Let's Encrypt needs an e-mail address."})
        if self.duckdns_domains and not self.duckdns_token:
            raise ValidationError({"duckdns_token": "DuckDNS domains need the account's token."})

    def reserved(self) -> set[int]:
        ports = {int(p) for p in validators.split_ids(self.reserved_ports) if p.isdigit()}
        return ports | {self.admin_port}

    def fqdn(self, hostname: str) -> str:
        """A label becomes a subdomain of the host's domain; a dotted name stays as it is."""
        return hostname if "." in hostname else f"{hostname}.{self.domain}"


class Skill(models.Model):
    SOURCE_BUNDLED = "bundled"
    SOURCE_UPLOADED = "uploaded"
    SOURCE_RELEASE = "release"
    SOURCE_CHOICES = [(SOURCE_BUNDLED, "bundled with the appliance"),
                      (SOURCE_UPLOADED, "uploaded"),
                      (SOURCE_RELEASE, "deployed from git or a zip (releases)")]

    slug = models.CharField(max_length=26, unique=True, validators=[validators.validate_slug])
    name = models.CharField(max_length=100)
    source_kind = models.CharField(max_length=16, choices=SOURCE_CHOICES,
                                   default=SOURCE_BUNDLED)
    source = models.CharField(
        max_length=200, blank=True, help_text="A bundled skill's folder name (e.g. "
        "memory_game), or the uploaded skill's folder under the data directory; empty for "
        "releases.")
    # The release it runs when its source is "release" (skill_deploy, the Deploy page): its
    # code and venv under the releases folder. Empty: none deployed yet, so nothing runs.
    release = models.PositiveIntegerField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    port = models.PositiveIntegerField(unique=True, null=True, blank=True,
                                       validators=PORT_VALIDATORS,
                                       help_text="Leave empty to pick a free one.")
    hostname = models.CharField(max_length=253, blank=True,
                                validators=[validators.validate_hostname],
                                help_text="Empty: the slug, under the host's domain.")
    application_ids = models.TextField(blank=True, validators=[validators.validate_skill_ids],
                                       help_text="Alexa skill IDs allowed to call it.")
    verify_requests = models.BooleanField(default=True)
    environment = models.JSONField(default=dict, blank=True)
    secrets = models.JSONField(default=dict, blank=True)
    threads = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(32)])
    on_demand = models.BooleanField(default=False,
                                    help_text="Start on the first request, exit when idle.")
    idle_exit = models.PositiveIntegerField(default=300,
                                            validators=[MinValueValidator(10)])
    test_console = models.BooleanField(
        default=True, help_text="Trust the admin's test-console CA (turn off in production).")
    templates = models.TextField(blank=True, help_text="templates.yaml")
    # Where Alexa's requests go: the host's service, or the skill's Lambda function (whose
    # endpoint switch is ``manage.py skill_lambda``; a skill on Lambda has no host service).
    RUNS_ON_HOST, RUNS_ON_LAMBDA = "host", "lambda"
    runs_on = models.CharField(
        max_length=8, default=RUNS_ON_HOST, editable=False,
        choices=[(RUNS_ON_HOST, "this host"), (RUNS_ON_LAMBDA, "AWS Lambda")])
    lambda_arn = models.CharField(max_length=200, blank=True, editable=False)
    lambda_memory = models.PositiveIntegerField(
        default=256, validators=[MinValueValidator(128), MaxValueValidator(10240)])
    lambda_timeout = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1), MaxValueValidator(900)])
    interaction_model = models.TextField(blank=True, help_text="en-US interaction model JSON")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        # Beyond view/add/change/delete: driving the skill's service, and talking to it.
        permissions = [
            ("control_skill", "Can start, stop and restart skills"),
            ("use_test_console", "Can send requests from the test console and voice check"),
            ("move_skill_lambda", "Can move skills to AWS Lambda and back"),
            ("publish_skill", "Can link the Amazon developer account and publish skills to "
                              "Alexa"),
        ]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def unit_name(self) -> str:
        return f"alexa-skill-{self.slug}"

    @property
    def user_name(self) -> str:
        return f"skill-{self.slug}"

    def fqdn(self, host: HostSettings | None = None) -> str:
        host = host or HostSettings.load()
        return host.fqdn(self.hostname or self.slug)

    def url(self, host: HostSettings | None = None) -> str:
        return f"https://{self.fqdn(host)}/"

    def model_json(self) -> dict:
        try:
            return load_json(self.interaction_model) if self.interaction_model else {}
        except ValueError:  # load_json's too-deep JSON included
            return {}


class Revision(models.Model):
    PENDING, APPLIED, FAILED, SUPERSEDED = "pending", "applied", "failed", "superseded"
    OUTCOMES = [(PENDING, "pending"), (APPLIED, "applied"), (FAILED, "failed (rolled back)"),
                (SUPERSEDED, "superseded")]

    number = models.PositiveIntegerField(unique=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL)
    reason = models.CharField(max_length=200, blank=True)
    files = models.JSONField(default=dict)  # path -> {content, mode, owner, group, secret}
    catalogue = models.JSONField(default=dict)  # the rows it was rendered from, for rollback
    diff = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=OUTCOMES, default=PENDING)
    messages = models.TextField(blank=True)
    restored_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-number"]
        # Applying and rolling back change what runs on the host: separate from the rows.
        permissions = [
            ("apply_revision", "Can apply the catalogue"),
            ("rollback_revision", "Can roll back to a revision"),
        ]

    def __str__(self) -> str:
        return f"Revision {self.number} ({self.outcome})"


class AlexaAccount(Singleton):
    """The one linked Amazon developer account (SMAPI); ``AlexaAccount.load()``.

    Kept apart from the skills and host settings so no revision ever serializes its secrets
    (the client secret, the refresh token): a rollback leaves the link as it is.
    """

    client_id = models.CharField(max_length=200, blank=True)
    client_secret = models.CharField(max_length=500, blank=True)
    refresh_token = models.TextField(blank=True)
    vendor_id = models.CharField(max_length=100, blank=True)
    vendors = models.JSONField(default=list, blank=True)  # [{"id", "name"}] to choose from
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = "Alexa account"

    def __str__(self) -> str:
        return f"Alexa account {self.vendor_id or '(not linked)'}"

    @property
    def linked(self) -> bool:
        return bool(self.client_id and self.client_secret and self.refresh_token)


class Publication(models.Model):
    """What the last "Publish to Alexa" of a skill left: when, and the model build's errors."""

    skill = models.OneToOneField(Skill, on_delete=models.CASCADE, related_name="publication")
    published_at = models.DateTimeField(null=True, blank=True)
    build_errors = models.JSONField(default=list, blank=True)  # [{"locale", "message", "line"}]

    def __str__(self) -> str:
        return f"Publication of {self.skill.slug}"
