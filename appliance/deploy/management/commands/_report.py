"""What ``apply`` and ``rollback`` print: the revision, its outcome and messages."""

from django.core.management.base import CommandError

from ....catalogue.models import Revision


def report(command, revision: Revision) -> None:
    lines = [line for line in revision.messages.splitlines() if line.strip()]
    if revision.outcome != Revision.APPLIED:
        # CommandError exits 1; the first message is the reason.
        raise CommandError(f"revision {revision.number} {revision.outcome}: "
                           + "\n  ".join(lines or ["(no reason recorded)"]))
    command.stdout.write(f"revision {revision.number} applied")
    for line in lines:
        command.stdout.write(f"  {line}")
