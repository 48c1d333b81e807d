"""Port allocation: a free port in the host's range that no skill and nothing else uses."""

from __future__ import annotations

import socket

from django.core.exceptions import ValidationError

from ..deploy.client import layout
from ..render import HostSpec
from ..render.layout import LayoutError
from .models import HostSettings, Skill


def port_in_use_on_host(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def caddy_ports() -> dict[int, str]:
    """The ports Caddy listens on, as this host's layout.json sets them (the renderers'
    defaults without one): no skill and not the admin may take them."""
    try:
        _, extras = layout()
    except LayoutError:
        extras = {}  # the apply says what is wrong with the file
    found = {int(extras.get("http_port", HostSpec.http_port)): "Caddy (http)",
             int(extras.get("https_port", HostSpec.https_port)): "Caddy (https)"}
    api = str(extras.get("caddy_admin", HostSpec.caddy_admin)).rpartition(":")[2]
    if api.isdigit():  # not when the API is a unix socket
        found[int(api)] = "Caddy's API"
    return found


def check_port(port: int, host: HostSettings, skill: Skill | None = None,
               others: list[Skill] | None = None) -> None:
    """Raise ValidationError when ``port`` cannot be given to ``skill``. ``others``: the
    other skills when the caller already has them (else they are looked up)."""
    if not host.port_range_start <= port <= host.port_range_end:
        raise ValidationError(
            f"Port {port} is outside the skills' range "
            f"{host.port_range_start}-{host.port_range_end}.", code="port_range")
    if port == host.admin_port:
        raise ValidationError(f"Port {port} is used by the admin.", code="port_reserved")
    caddy = caddy_ports()
    if port in caddy:
        raise ValidationError(f"Port {port} is used by {caddy[port]}.", code="port_reserved")
    if port in host.reserved():
        raise ValidationError(f"Port {port} is reserved for the host.", code="port_reserved")
    if others is None:
        others = Skill.objects.filter(port=port)
        if skill is not None and skill.pk:
            others = others.exclude(pk=skill.pk)
    owner = next((other for other in others if other.port == port), None)
    if owner is not None:
        raise ValidationError(f"Port {port} is already used by {owner.slug}.", code="port_taken")


def allocate_port(host: HostSettings, skill: Skill | None = None) -> int:
    taken = set(Skill.objects.exclude(port=None).values_list("port", flat=True)) | host.reserved()
    taken |= set(caddy_ports())
    for port in range(host.port_range_start, host.port_range_end + 1):
        if port not in taken and not port_in_use_on_host(port):
            return port
    raise ValidationError("No free port is left in the skills' range.", code="port_exhausted")
