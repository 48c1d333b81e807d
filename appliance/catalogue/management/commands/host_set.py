"""Set the host's settings: ``manage.py host_set --domain example.duckdns.org ...``."""

from django.core.management.base import BaseCommand
from django.forms import model_to_dict

from appliance.catalogue.forms import HostSettingsForm
from appliance.catalogue.models import HostSettings

from ._base import save_form, secret_from_env

OPTIONS = {"domain": "domain", "admin_hostname": "admin_hostname", "email": "acme_email",
           "ca": "certificate_authority", "init": "init_flavour",
           "duckdns_domains": "duckdns_domains", "admin_port": "admin_port",
           "reserved_ports": "reserved_ports"}


class Command(BaseCommand):
    help = "Set the host's settings. The DuckDNS token is read from the environment."

    def add_arguments(self, parser):
        parser.add_argument("--domain")
        parser.add_argument("--admin-hostname")
        parser.add_argument("--email")
        parser.add_argument("--ca", choices=[c for c, _ in HostSettings.CA_CHOICES])
        parser.add_argument("--init", choices=[c for c, _ in HostSettings.INIT_CHOICES])
        parser.add_argument("--duckdns-domains")
        parser.add_argument("--duckdns-token-from-env", metavar="VARIABLE")
        parser.add_argument("--admin-port", type=int)
        parser.add_argument("--port-range", metavar="FIRST-LAST")
        parser.add_argument("--reserved-ports")
        parser.add_argument("--test-console-default", choices=["on", "off"])

    def handle(self, *args, **options):
        host = HostSettings.load()
        data = {key: value for key, value in model_to_dict(host).items()
                if value is not None and value is not False}
        data["duckdns_token"] = ""  # empty keeps the saved token
        for option, field in OPTIONS.items():
            if options[option] is not None:
                data[field] = options[option]
        if options["duckdns_token_from_env"]:
            data["duckdns_token"] = secret_from_env(options["duckdns_token_from_env"])
        if options["port_range"]:
            first, _, last = options["port_range"].partition("-")
            data["port_range_start"], data["port_range_end"] = first, last
        if options["test_console_default"]:
            data["test_console_default"] = options["test_console_default"] == "on"
        save_form(HostSettingsForm(data, instance=host), self, "host settings")
