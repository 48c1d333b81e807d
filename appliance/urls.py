from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path


def favicon(request):
    # Browsers ask for /favicon.ico whatever the page links; the file is a static one.
    return redirect(static("console/favicon.ico"), permanent=True)


urlpatterns = [
    path("", include("appliance.console.urls")),
    path("", include("appliance.releases.urls")),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
]
