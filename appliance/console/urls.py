from django.urls import path

from . import views

app_name = "console"

urlpatterns = [
    path("_health", views.health, name="health"),
    path("", views.dashboard, name="dashboard"),
]
