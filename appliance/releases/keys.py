"""Deploy keys: an Ed25519 key pair per skill, made here, for fetching its git repository over
ssh. The public half (OpenSSH format) is shown to be added to the repository as a read-only
deploy key; the private half stays in the admin's database and exists as a file only for the
length of one fetch (fetch.py, 0600 in a private temporary folder)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..catalogue.models import Skill
from .models import DeployKey


def generate(comment: str) -> tuple[str, str]:
    """(private key in OpenSSH PEM, public key line "ssh-ed25519 AAAA… comment")."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode("ascii")
    return private, f"{public} {comment}"


def deploy_key(skill: Skill, *, new: bool = False) -> tuple[DeployKey, bool]:
    """The skill's deploy key, made when it has none (or when ``new``); (key, whether made)."""
    found = DeployKey.objects.filter(skill=skill).first()
    if found and not new:
        return found, False
    private, public = generate(f"appliance-deploy-{skill.slug}")
    key, _ = DeployKey.objects.update_or_create(
        skill=skill, defaults={"private_key": private, "public_key": public})
    return key, True


def private_key(skill: Skill) -> str:
    return DeployKey.objects.filter(skill=skill).values_list("private_key", flat=True).first() \
        or ""
