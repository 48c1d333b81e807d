from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("appliance.console.urls")),
    path("admin/", admin.site.urls),
]
