from django.apps import AppConfig


class MonitorConfig(AppConfig):
    name = "appliance.monitor"
    verbose_name = "Monitor"
