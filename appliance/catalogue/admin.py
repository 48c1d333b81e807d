"""The admin: skills, the host's settings and the applied revisions.

Everything that runs as root goes through the helper (``run_helper``); a helper that fails or
hangs becomes a state of "unknown" or a message in words, never an error page.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from ..console import applying, services
from ..console.permissions import APPLY, CONTROL, ROLLBACK, TEST_CONSOLE
from ..console.review import CHANGED, UNREVIEWED
from ..console.templatetags.console_diffs import diff_class
from ..deploy.apply import CatalogueChanged
from ..deploy.changes import record
from ..deploy.plan import revision_diffs, rollback_plan
from ..deploy.revisions import secret_changes
from .forms import HostSettingsForm, SkillForm
from .models import HostSettings, Revision, Skill

admin.site.site_header = admin.site.site_title = "Alexa appliance"
admin.site.index_title = "Catalogue"
admin.site.site_url = "/"  # "View site" leads to the dashboard


class SkillChangeList(ChangeList):
    """Gives every row of the page its state (one cached status-all answer for them all) and
    the host's settings (read once, not once per row for its URL)."""

    def get_results(self, request):
        super().get_results(request)
        rows = list(self.result_list)  # evaluates (and caches) the page's query once
        states = services.service_states(rows)
        host = HostSettings.load()
        for skill in rows:
            skill.service_state = states.get(skill.slug, services.UNKNOWN)
            skill.host_settings = host


def state_badge(state: str):
    return format_html('<span class="state state-{}">{}</span>', state, state)


class SaveAndApply:
    """"Save and apply": saved at once (its confirmation first), then the review of the pending
    diff, whose confirmation applies and goes on to where the save would have led."""

    # Also what an action's ``permissions=["apply"]`` asks.
    def has_apply_permission(self, request):
        return request.user.has_perm(APPLY)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Refused before the save: "Save and apply" without the apply is not what was asked.
        if request.method == "POST" and "_apply" in request.POST and \
                not self.has_apply_permission(request):
            raise PermissionDenied
        return super().changeform_view(request, object_id, form_url, extra_context)

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        return self._review_if_asked(request, obj, response)

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        return self._review_if_asked(request, obj, response)

    def _review_if_asked(self, request, obj, response):
        if "_apply" not in request.POST or not getattr(response, "url", None):
            return response
        return redirect(applying.review_url(
            response.url, f"saved {getattr(obj, 'slug', None) or obj}"))


@admin.register(Skill)
class SkillAdmin(SaveAndApply, admin.ModelAdmin):
    form = SkillForm
    list_display = ["slug", "name", "enabled", "port", "url_link", "state"]
    list_display_links = ["slug", "name"]
    list_filter = ["enabled", "on_demand", "test_console"]
    search_fields = ["slug", "name", "hostname"]
    actions = ["enable", "disable", "start", "stop", "restart", "apply_now"]
    readonly_fields = ["saved_secrets", "pages"]
    change_list_template = "console/change_list_apply.html"

    def get_changelist(self, request, **kwargs):
        return SkillChangeList

    # What the start, stop and restart actions' ``permissions=["control"]`` asks.
    def has_control_permission(self, request):
        return request.user.has_perm(CONTROL)

    def changelist_view(self, request, extra_context=None):
        # An action the user may not take is refused, not taken as "no action selected".
        if request.method == "POST":
            allowed = self.get_actions(request)
            if any(name not in allowed for name in request.POST.getlist("action") if name):
                raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def get_object(self, request, object_id, from_field=None):
        skill = super().get_object(request, object_id, from_field)
        if skill is not None:  # for the "pages" links, which are not given the request
            skill.console_allowed = request.user.has_perm(TEST_CONSOLE)
        return skill

    def get_fieldsets(self, request, obj=None):
        secrets = ["secrets_text"]
        if obj is not None and obj.secrets:
            secrets = ["saved_secrets", "secrets_text", "remove_secrets"]
        fieldsets = [
            (None, {"fields": ["slug", "name", "enabled"]}),
            ("Source", {"fields": ["source_kind", "source"]}),
            ("Serving", {"fields": ["hostname", "port", "threads", "on_demand", "idle_exit"]}),
            ("Alexa", {"fields": ["application_ids", "verify_requests", "test_console"]}),
            ("Environment and secrets", {"fields": ["environment_text", *secrets]}),
        ]
        if obj is not None:
            fieldsets.append(("Templates, model, logs", {"fields": ["pages"]}))
        return fieldsets

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("test_console", HostSettings.load().test_console_default)
        return initial

    def action_checkbox(self, skill):
        # The very input Django renders, without a template render per row: that was a third
        # of the time of a list of 100 skills.
        label = format_html(_("Select this object for an action - {}"), str(skill))
        return format_html('<input type="checkbox" name="{}" value="{}" class="action-select" '
                           'aria-label="{}">', helpers.ACTION_CHECKBOX_NAME, str(skill.pk), label)

    @admin.display(description="URL")
    def url_link(self, skill):
        url = skill.url(getattr(skill, "host_settings", None))
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description="state")
    def state(self, skill):
        return state_badge(getattr(skill, "service_state", services.UNKNOWN))

    @admin.display(description="saved secrets")
    def saved_secrets(self, skill):
        # Names only: a saved value is never sent back to a browser.
        names = sorted(skill.secrets or {})
        return ", ".join(names) if names else "none"

    @admin.display(description="pages")
    def pages(self, skill):
        links = [("console:templates", "Edit templates"), ("console:model", "Interaction model"),
                 ("console:logs", "Logs")]
        if getattr(skill, "console_allowed", False):
            links.append(("console:test_console", "Test console"))
        return format_html_join(" · ", '<a href="{}">{}</a>',
                                ((reverse(name, args=[skill.slug]), label)
                                 for name, label in links))

    # --- actions ----------------------------------------------------------------------------

    def _set_enabled(self, request, queryset, enabled: bool):
        slugs = ", ".join(queryset.values_list("slug", flat=True))
        queryset.update(enabled=enabled)
        verb = "Enabled" if enabled else "Disabled"
        record(f"{verb.lower()} {slugs}", request.user)  # update() leaves no admin log entry
        self.message_user(request, f"{verb} {slugs}. Apply to put the change live.",
                          messages.SUCCESS)

    @admin.action(description="Enable the selected skills", permissions=["change"])
    def enable(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable the selected skills", permissions=["change"])
    def disable(self, request, queryset):
        self._set_enabled(request, queryset, False)

    def _service(self, request, queryset, action: str):
        for skill in queryset:
            done, message = services.service_action(action, skill.unit_name)
            self.message_user(request, message, messages.SUCCESS if done else messages.ERROR)

    @admin.action(description="Start the selected skills", permissions=["control"])
    def start(self, request, queryset):
        self._service(request, queryset, "start")

    @admin.action(description="Stop the selected skills", permissions=["control"])
    def stop(self, request, queryset):
        self._service(request, queryset, "stop")

    @admin.action(description="Restart the selected skills", permissions=["control"])
    def restart(self, request, queryset):
        self._service(request, queryset, "restart")

    @admin.action(description="Apply the whole catalogue now", permissions=["apply"])
    def apply_now(self, request, queryset):
        return redirect(applying.review_url(request.get_full_path(),
                                            "applied from the skill list"))


@admin.register(HostSettings)
class HostSettingsAdmin(SaveAndApply, admin.ModelAdmin):
    """One row: the list leads straight to it, and it cannot be added twice or deleted."""

    form = HostSettingsForm
    readonly_fields = ["token_state"]
    fieldsets = [
        (None, {"fields": ["domain", "admin_hostname", "admin_port"]}),
        ("Certificates", {"fields": ["certificate_authority", "acme_email"]}),
        ("DuckDNS", {"fields": ["duckdns_domains", "token_state", "duckdns_token"]}),
        ("Services", {"fields": ["init_flavour", "port_range_start", "port_range_end",
                                 "reserved_ports", "test_console_default"]}),
    ]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not HostSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied  # before load(), which would create the row
        host = HostSettings.load()
        return redirect("admin:catalogue_hostsettings_change", host.pk)

    @admin.display(description="saved token")
    def token_state(self, host):
        return "set (hidden)" if host.duckdns_token else "not set"


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    """Read-only history; the one action is rolling back to a revision, after a confirmation."""

    list_display = ["number", "created", "created_by", "outcome_badge", "reason"]
    list_filter = ["outcome"]
    search_fields = ["reason", "messages"]
    # Never ``files`` nor ``catalogue``: they hold the skills' secrets.
    fields = ["number", "created", "created_by", "outcome", "reason", "restored_from",
              "messages_text", "timings", "diff_lines"]
    readonly_fields = fields
    change_form_template = "console/revision_change_form.html"
    change_list_template = "console/change_list_apply.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        rollback = path("<int:pk>/rollback/", self.admin_site.admin_view(self.rollback_view),
                        name="catalogue_revision_rollback")
        return [rollback, *super().get_urls()]

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, revision):
        css = {Revision.APPLIED: "running", Revision.FAILED: "failed",
               Revision.PENDING: "unknown"}.get(revision.outcome, "stopped")
        return format_html('<span class="state state-{}">{}</span>', css,
                           revision.get_outcome_display())

    @admin.display(description="messages")
    def messages_text(self, revision):
        notes, _ = applying.split_timings(revision.messages)
        return format_html('<pre class="diff">{}</pre>', notes or "—")

    @admin.display(description="timings")
    def timings(self, revision):
        # Kept apart from the messages: figures for whoever tunes the apply, not its outcome.
        _, figures = applying.split_timings(revision.messages)
        return figures or "—"

    @admin.display(description="what it changed, against the revision live before it")
    def diff_lines(self, revision):
        if not revision.diff.strip():
            return "no change"
        found = revision_diffs(revision)
        if found is None:  # a text that does not read back: shown as it is
            return format_html('<pre class="diff">{}</pre>', format_html_join(
                "", '<span class="{}">{}</span>',
                ((diff_class(line), line + "\n") for line in revision.diff.splitlines())))
        return render_to_string("console/file_diffs.html", {"diffs": found})

    def rollback_view(self, request, pk):
        if not request.user.has_perm(ROLLBACK):
            raise PermissionDenied
        revision = get_object_or_404(Revision, pk=pk)
        status = 200
        if request.method == "POST":
            digest = request.POST.get("digest", "")
            if not digest:  # a form from before the diff was shown: show it
                messages.warning(request, UNREVIEWED)
            else:
                try:
                    applying.roll_back(request, revision, digest)
                    return redirect("admin:catalogue_revision_changelist")
                except CatalogueChanged:
                    messages.warning(request, CHANGED)
                    status = 409
        plan = rollback_plan(revision)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": f"Roll back to revision {revision.number}?", "revision": revision,
                   "current": Revision.objects.filter(outcome=Revision.APPLIED).first(),
                   "secret_changes": secret_changes(revision.catalogue), "plan": plan,
                   "summary": plan.summary}
        return TemplateResponse(request, "console/revision_rollback.html", context,
                                status=status)
