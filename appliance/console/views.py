from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import redirect


def health(request):
    return JsonResponse({"status": "ok"})


def dashboard(request):
    return redirect("admin:index")
