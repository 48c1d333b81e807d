from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "appliance.releases"
    verbose_name = "Releases"
