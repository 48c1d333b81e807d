from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "appliance.releases"
    verbose_name = "Releases"

    def ready(self):
        from ..deploy.signals import applied
        from .removal import forget_removed_skills

        applied.connect(forget_removed_skills, dispatch_uid="releases-forget-removed-skills")
