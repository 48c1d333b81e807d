from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "appliance.alerts"
    verbose_name = "Alerts"
