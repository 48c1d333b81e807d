"""A skill's Lambda page: where it runs now, "Move to Lambda" and "Move back to this host".

The move is ``deploy/lambdas.move``, the very function ``manage.py skill_lambda`` calls; its
outcome is said in words, and every failure (no AWS credentials, a skill not published yet, a
refusal from AWS or SMAPI) is a message naming it, never a server error. Where the function is
now (memory, timeout, package size, state) is read from AWS on each view, as AWS has it.
"""

from __future__ import annotations

import os

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render

from skills.lambda_deploy.code import Image

from ..catalogue.models import AlexaAccount, HostSettings, Skill
from ..catalogue.validators import split_ids
from ..deploy import lambdas
from .permissions import MOVE_LAMBDA, VIEW_SKILL, staff_with


class MoveForm(forms.Form):
    memory = forms.IntegerField(label="Memory (MB)", min_value=128, max_value=10240)
    timeout = forms.IntegerField(label="Timeout (seconds)", min_value=1, max_value=900)
    image_uri = forms.CharField(
        label="Container image URI", required=False, max_length=400,
        help_text="Only for a package over 250 MB unzipped: the image built from the context "
                  "this page names and pushed to Amazon ECR.")

    def clean_image_uri(self) -> str:
        uri = self.cleaned_data["image_uri"].strip()
        if uri:
            try:
                Image.parse(uri)
            except ValueError as exc:
                raise forms.ValidationError(f"Not an ECR image: {exc}.", code="image") from None
        return uri


def _said(moved: lambdas.Moved, skill: Skill) -> str:
    where = "to AWS Lambda" if moved.to_lambda else "back to this host"
    if moved.changed:
        return f"Moved {skill.slug} {where}: " + "; ".join(moved.changes) + "."
    now = f"on AWS Lambda as {skill.lambda_arn}" if moved.to_lambda else "on this host"
    return f"Nothing had changed: {skill.slug} already runs {now}; nothing was written."


def _refused(error: lambdas.DeployError, back: bool) -> str:
    done = f" Done before that: {'; '.join(error.done)}." if error.done else ""
    return f"Not moved{' back' if back else ''}: {error}{done}"


@staff_with(VIEW_SKILL, post=(MOVE_LAMBDA,))
def lambda_page(request, slug):
    skill = get_object_or_404(Skill, slug=slug)
    image_steps = ""
    if request.method == "POST":
        back = "back" in request.POST
        form = MoveForm(request.POST)
        if back or form.is_valid():
            options = {} if back else {
                "memory": form.cleaned_data["memory"], "timeout": form.cleaned_data["timeout"],
                "image_uri": form.cleaned_data["image_uri"]}
            try:
                moved = lambdas.move(skill, back=back, user=request.user, **options)
            except lambdas.ImageNeeded as exc:
                image_steps = str(exc)  # shown on the page, with the form as it was sent
            except lambdas.DeployError as exc:
                messages.error(request, _refused(exc, back))
                return redirect("console:lambda", slug=skill.slug)
            else:
                messages.success(request, _said(moved, skill))
                for note in moved.notes:
                    messages.warning(request, note)
                return redirect("console:lambda", slug=skill.slug)
    function, unreadable = None, ""
    try:
        function = lambdas.describe(skill)
    except lambdas.DeployError as exc:
        unreadable = str(exc)
    if request.method != "POST":
        # A function running an image moves again with its image: the URI is offered.
        form = MoveForm(initial={"memory": skill.lambda_memory, "timeout": skill.lambda_timeout,
                                 "image_uri": function.image_uri if function else ""})
    host = HostSettings.load()
    return render(request, "console/lambda.html", {
        **admin.site.each_context(request), "title": f"AWS Lambda: {skill}", "skill": skill,
        "opts": Skill._meta, "form": form, "image_steps": image_steps, "function": function,
        "unreadable": unreadable, "on_lambda": skill.runs_on == Skill.RUNS_ON_LAMBDA,
        "endpoint": skill.url(host), "skill_ids": split_ids(skill.application_ids),
        "linked": AlexaAccount.load().linked,
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "",
        "bucket": settings.LAMBDA_S3_BUCKET, "image_context": lambdas.image_context_dir(skill)})
