"""`afterdesk sla due --calendar NAME --start ISO-8601-INSTANT --duration 4h|90m|2d`

Prints only the due instant, in ISO 8601 with the calendar's UTC offset, e.g.
``2026-11-23T12:30:00+08:00``. ``d`` is a working day of that calendar (its standard day: 8 h
in cn-business), so ``2d`` from Friday 16:30 is Tuesday 16:30 in cn-business.
"""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from afterdesk.sla import selectors
from afterdesk.sla.worktime import NoWorkingTime, parse_duration


class Command(BaseCommand):
    help = "SLA tools: compute a due time on a business calendar."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        due = sub.add_parser("due", help="print the due instant of a duration from a start")
        due.add_argument("--calendar", required=True, help="calendar name, e.g. cn-business")
        due.add_argument(
            "--start",
            required=True,
            help="ISO 8601 instant with offset, e.g. 2026-11-20T16:30+08:00",
        )
        due.add_argument(
            "--duration", required=True, help="working time: 4h, 90m, 2d (working days), 1h30m"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        calendar = selectors.calendar_by_name(options["calendar"])
        if calendar is None:
            names = ", ".join(c.name for c in selectors.calendars_list()) or "none"
            raise CommandError(f"No calendar {options['calendar']!r} (calendars: {names})")
        text = options["start"].strip()
        try:
            start = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise CommandError(
                f"--start {text!r} is not an ISO 8601 instant (e.g. 2026-11-20T16:30:00+08:00)"
            ) from exc
        if start.tzinfo is None:
            raise CommandError(f"--start {text!r} needs a UTC offset, e.g. +08:00 or Z")
        work = selectors.work_calendar(calendar)
        try:
            seconds = parse_duration(options["duration"], day_seconds=work.standard_day_seconds)
            due = work.add(start, seconds)
        except NoWorkingTime as exc:
            raise CommandError(f"Calendar {calendar.name} has {exc}") from exc
        except ValueError as exc:
            raise CommandError(f"--duration: {exc}") from exc
        self.stdout.write(due.astimezone(work.zone).isoformat())
