"""A skill's Deploy page: deploy from git or a zip, follow the build's log live, the releases
kept (with Roll back), and the deploy key to give the repository."""

from __future__ import annotations

import shutil

from django.contrib import admin
from django.shortcuts import get_object_or_404, redirect, render

from ..catalogue.models import Skill
from ..console.permissions import APPLY, VIEW_SKILL, staff_with
from . import deploy, runner
from .forms import DeployForm
from .models import DeployKey, Release

DEPLOY = "releases.deploy_release"


@staff_with(VIEW_SKILL, post=(DEPLOY, APPLY))
def deploy_page(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    form = DeployForm()
    if request.method == "POST":
        form = DeployForm(request.POST, request.FILES)
        if form.is_valid():
            release = _start(skill, form.cleaned_data, request.user)
            return redirect(f"{request.path}?release={release.number}")
    releases = list(skill.releases.all())
    following = _following(request, releases)
    unfinished = following is not None and following.finished_at is None
    building = unfinished and deploy.in_progress(following)
    return render(request, "releases/deploy.html", {
        **admin.site.each_context(request), "title": f"Deploy: {skill}", "skill": skill,
        "opts": Skill._meta, "form": form, "releases": releases, "following": following,
        "live": deploy.live_release(skill), "building": building,
        "interrupted": unfinished and not building,
        "key": DeployKey.objects.filter(skill=skill).first(),
    })


def _following(request, releases: list[Release]) -> Release | None:
    """The release whose log the page shows: ?release=N, else one being built."""
    number = request.GET.get("release", "")
    if number.isdigit():
        return next((r for r in releases if r.number == int(number)), None)
    return next((r for r in releases if r.outcome == Release.BUILDING), None)


def _start(skill: Skill, cleaned: dict, user) -> Release:
    upload = cleaned.get("zip_file")
    if upload:
        release = deploy.new_release(skill, kind=Release.ZIP, user=user,
                                     zip_name=upload.name[:200])
        target = deploy.upload_file(release)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            upload.seek(0)
            shutil.copyfileobj(upload, out)
    else:
        release = deploy.new_release(skill, kind=Release.GIT, user=user,
                                     git_url=cleaned["git_url"], git_ref=cleaned["git_ref"])
    runner.start(release)
    return release
