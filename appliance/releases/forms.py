"""The Deploy page's form: a git repository at a ref, or a zip."""

from __future__ import annotations

from django import forms

from . import fetch

MAX_UPLOAD = fetch.MAX_ZIP


class DeployForm(forms.Form):
    git_url = forms.CharField(
        label="Git repository", required=False, max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "https://github.com/you/skill.git",
                                      "size": 60}),
        help_text="https://, ssh:// or git@host:path (ssh with the deploy key below).")
    git_ref = forms.CharField(label="Branch, tag or commit", required=False, max_length=200,
                              help_text="Empty: the repository's default branch.")
    zip_file = forms.FileField(label="Or a zip of the skill's folder", required=False)

    def clean_git_url(self):
        url = (self.cleaned_data.get("git_url") or "").strip()
        if url:
            try:
                fetch.check_git_url(url)
            except fetch.FetchError as exc:
                raise forms.ValidationError(str(exc), code="git_url") from None
        return url

    def clean_git_ref(self):
        ref = (self.cleaned_data.get("git_ref") or "").strip()
        try:
            return fetch.check_ref(ref)
        except fetch.FetchError as exc:
            raise forms.ValidationError(str(exc), code="git_ref") from None

    def clean_zip_file(self):
        upload = self.cleaned_data.get("zip_file")
        if upload is not None and upload.size > MAX_UPLOAD:
            raise forms.ValidationError(f"The zip is larger than {MAX_UPLOAD // (1024 * 1024)} "
                                        "MB.", code="zip_size")
        return upload

    def clean(self):
        cleaned = super().clean()
        url, upload = cleaned.get("git_url"), cleaned.get("zip_file")
        if not self.errors and bool(url) == bool(upload):
            raise forms.ValidationError("Give a git repository or a zip (one of them).",
                                        code="source")
        if upload and cleaned.get("git_ref"):
            self.add_error("git_ref", "A branch, tag or commit goes with a git repository.")
        return cleaned
