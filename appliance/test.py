"""One base test case with named users, as every admin test needs them."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import Permission, User
from django.test import TestCase

import skills

from .catalogue.models import HostSettings

MEMORY_GAME = Path(skills.__file__).resolve().parent / "memory_game"
MEMORY_GAME_MODEL = (MEMORY_GAME / "skill-package/interactionModels/custom/en-US.json").read_text()


class BaseTestCase(TestCase):
    def setUp(self):
        super().setUp()
        self.alice = User.objects.create_superuser("alice", "alice@example.org", "password")
        self.bob = User.objects.create_user("bob", "bob@example.org", "password")  # not staff
        self.host = HostSettings.load()

    def login(self, user=None):
        self.client.force_login(user or self.alice)

    def staff(self, *perms: str, username: str = "carol") -> User:
        """A staff user with exactly ``perms`` ("catalogue.view_skill", ...) and no other."""
        user = User.objects.create_user(username, f"{username}@example.org", "password",
                                        is_staff=True)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(
                content_type__app_label=app_label, codename=codename))
        return User.objects.get(pk=user.pk)  # a fresh object: no permission cache yet
