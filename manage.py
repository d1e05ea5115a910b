#!/usr/bin/env python3
"""Django's manage.py, for those who expect one; `afterdesk` is the same command."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from afterdesk.cli import main  # noqa: E402

main()
