#!/usr/bin/env python3
"""Django's command-line utility for the appliance's admin."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "appliance.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise SystemExit("Django is not installed: run `make up` or `pip install -e .`") from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
