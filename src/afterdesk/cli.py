"""The `afterdesk` command: Django management with Afterdesk's settings.

`afterdesk serve`, `afterdesk worker`, `afterdesk demo`, `afterdesk token create USER`, and
every manage.py command (`afterdesk migrate`, `afterdesk createsuperuser`, …).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "afterdesk.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["afterdesk", *sys.argv[1:]])


if __name__ == "__main__":
    main()
