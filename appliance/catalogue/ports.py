"""Port allocation: a free port in the host's range that no skill and nothing else uses."""

from __future__ import annotations

import socket

from django.core.exceptions import ValidationError

from .models import HostSettings, Skill


def port_in_use_on_host(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_port(port: int, host: HostSettings, skill: Skill | None = None) -> None:
    """Raise ValidationError when ``port`` cannot be given to ``skill``."""
    if not host.port_range_start <= port <= host.port_range_end:
        raise ValidationError(
            f"Port {port} is outside the skills' range "
            f"{host.port_range_start}-{host.port_range_end}.", code="port_range")
    if port == host.admin_port:
        raise ValidationError(f"Port {port} is used by the admin.", code="port_reserved")
    if port in host.reserved():
        raise ValidationError(f"Port {port} is reserved for the host.", code="port_reserved")
    owners = Skill.objects.filter(port=port)
    if skill is not None and skill.pk:
        owners = owners.exclude(pk=skill.pk)
    owner = owners.first()
    if owner is not None:
        raise ValidationError(f"Port {port} is already used by {owner.slug}.", code="port_taken")


def allocate_port(host: HostSettings, skill: Skill | None = None) -> int:
    taken = set(Skill.objects.exclude(port=None).values_list("port", flat=True)) | host.reserved()
    for port in range(host.port_range_start, host.port_range_end + 1):
        if port not in taken and not port_in_use_on_host(port):
            return port
    raise ValidationError("No free port is left in the skills' range.", code="port_exhausted")
