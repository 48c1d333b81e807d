from django.apps import AppConfig


class DeployConfig(AppConfig):
    name = "appliance.deploy"
    verbose_name = "Deployment"
