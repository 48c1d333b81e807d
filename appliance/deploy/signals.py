"""What other apps hear from an apply (the deploy app knows none of them).

``applied``: an apply was kept (installed, health-checked, the revision applied), sent under the
apply lock with ``revision``, ``previous`` (the revision it superseded, or None) and
``messages``, a list a receiver may add lines to: they are kept with the revision.
"""

from django.dispatch import Signal

applied = Signal()
