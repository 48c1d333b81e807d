"""Who changed the catalogue since the last apply, where Django's admin log does not say."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class CatalogueChange(models.Model):
    """A change made by a command, an editor page or an admin action. Saves and deletions
    through the admin's own forms are in its LogEntry already and are not copied here."""

    when = models.DateTimeField(default=timezone.now, db_index=True)
    who = models.CharField(max_length=150)  # a user name, or "<login> (command line)"
    what = models.CharField(max_length=300)

    class Meta:
        ordering = ["-when"]

    def __str__(self) -> str:
        return f"{self.who}: {self.what}"
