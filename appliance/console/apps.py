from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "appliance.console"
    verbose_name = "Console"
