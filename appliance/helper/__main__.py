"""``python -I -m appliance.helper``: the root helper's entry point (see ``cli``)."""

import sys

from .cli import main

sys.exit(main())
