"""Login required everywhere, except the login page itself, static files, the favicon and the
health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse

OPEN_PATHS = ("/_health", "/static/", "/favicon.ico")


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if request.user.is_authenticated or path.startswith(OPEN_PATHS) or path in (
            reverse("admin:login"), reverse("admin:logout")
        ):
            return self.get_response(request)
        if wants_json(request):
            # A page's fetch cannot follow a redirect to the login form: it would read HTML
            # as JSON. It gets a 401 in words and where to sign in.
            return JsonResponse({"ok": False, "error": "Your session ended: sign in again.",
                                 "login": resolve_url(settings.LOGIN_URL)}, status=401)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)


def wants_json(request) -> bool:
    return request.accepts("application/json") and not request.accepts("text/html")
