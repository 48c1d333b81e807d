from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "appliance.catalogue"
    verbose_name = "Catalogue"
