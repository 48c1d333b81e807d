"""Per-skill editors: templates.yaml with a preview, the interaction model, package import/export.

Invalid text is a form error and nothing is saved. "Save and apply" saves, then leads to the
review of the whole catalogue's pending diff (console.review), whose confirmation applies it and
comes back here.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..catalogue import templatecheck
from ..catalogue.models import HostSettings, Skill
from ..deploy.changes import record
from . import applying, package, skillfiles
from .forms import InteractionModelForm, PackageForm, TemplatesForm
from .permissions import CHANGE_SKILL, VIEW_SKILL, editor_post, staff_with


def _context(request, skill: Skill, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": f"{title}: {skill}", "skill": skill,
            "opts": Skill._meta, **extra}


def _saved(request, skill: Skill, what: str, back: str):
    record(f"changed the {what} of skill {skill.slug}", request.user)
    if "apply" in request.POST:
        messages.success(request, f"Saved the {what} of {skill.slug}. Review the changes "
                                  "below, then apply them.")
        return redirect(applying.review_url(back, f"{what} of {skill.slug}"))
    messages.success(request, f"Saved the {what} of {skill.slug}. Apply to put it live.")
    return redirect(back)


@staff_with(VIEW_SKILL)
def templates_editor(request, slug):
    if request.method == "POST":
        editor_post(request)
    skill = get_object_or_404(Skill, slug=slug)
    text, from_source = skillfiles.templates_text(skill)
    form = TemplatesForm(request.POST or None, initial={"templates": text})
    shown = text
    if request.method == "POST":
        shown = request.POST.get("templates", "")
        if form.is_valid() and "preview" not in request.POST:
            skill.templates = form.cleaned_data["templates"]
            skill.save(update_fields=["templates", "updated"])
            return _saved(request, skill, "templates",
                          reverse("console:templates", args=[skill.slug]))
    return render(request, "console/templates_editor.html", _context(
        request, skill, "Templates", form=form, from_source=from_source,
        preview=templatecheck.preview(shown) if not form.errors else []))


@staff_with(VIEW_SKILL)
def model_editor(request, slug):
    if request.method == "POST":
        editor_post(request)
    skill = get_object_or_404(Skill, slug=slug)
    text, from_source = skillfiles.model_text(skill)
    form = InteractionModelForm(request.POST or None, initial={"interaction_model": text})
    if request.method == "POST" and form.is_valid():
        skill.interaction_model = form.cleaned_data["interaction_model"]
        skill.save(update_fields=["interaction_model", "updated"])
        return _saved(request, skill, "interaction model",
                      reverse("console:model", args=[skill.slug]))
    publication = getattr(skill, "publication", None)
    return render(request, "console/model_editor.html", _context(
        request, skill, "Interaction model", form=form, from_source=from_source,
        package_form=PackageForm(), intents=_intent_summary(text),
        build_errors=publication.build_errors if publication else []))


def _intent_summary(text: str) -> list[dict]:
    from ..catalogue.interaction import intents

    return [{"name": i["name"], "slots": [s.get("name") for s in i.get("slots") or []
                                           if isinstance(s, dict)],
             "samples": len(i.get("samples") or [])} for i in intents(text)]


@staff_with(VIEW_SKILL, CHANGE_SKILL)
@require_POST
def package_import(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    form = PackageForm(request.POST, request.FILES)
    if form.is_valid():
        contents = form.cleaned_data["contents"]
        skill.interaction_model = contents["model"]
        fields = ["interaction_model", "updated"]
        if contents["templates"] is not None:
            skill.templates = contents["templates"]
            fields.append("templates")
        skill.save(update_fields=fields)
        what = "interaction model and templates" if "templates" in fields else \
            "interaction model"
        record(f"imported the {what} of skill {skill.slug}", request.user)
        messages.success(request, f"Imported the {what} of {skill.slug} from the package. "
                         "Apply to put it live.")
        return redirect("console:model", slug=skill.slug)
    text, from_source = skillfiles.model_text(skill)
    return render(request, "console/model_editor.html", _context(
        request, skill, "Interaction model",
        form=InteractionModelForm(initial={"interaction_model": text}),
        from_source=from_source, package_form=form, intents=_intent_summary(text)),
        status=400)


@staff_with(VIEW_SKILL)
def package_export(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    data = package.build_package(skill, HostSettings.load())
    response = HttpResponse(data, content_type="application/zip")
    # Named for the skill: several exports land in one downloads folder.
    response["Content-Disposition"] = f'attachment; filename="{skill.slug}-skill-package.zip"'
    return response
