"""Login required everywhere, except the login page itself, static files and the health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

OPEN_PATHS = ("/_health", "/static/")


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if request.user.is_authenticated or path.startswith(OPEN_PATHS) or path in (
            reverse("admin:login"), reverse("admin:logout")
        ):
            return self.get_response(request)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
