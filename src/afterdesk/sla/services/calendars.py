"""Writes of SLA configuration: calendars (compiled under a new version), department
calendars, policy changes; each has the live clocks it affects recomputed in the background."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from afterdesk.accounts.models import Department
from afterdesk.sla import selectors
from afterdesk.sla.choices import CalendarKind
from afterdesk.sla.countries import source_is_valid
from afterdesk.sla.errors import SlaInvalid
from afterdesk.sla.models import (
    BusinessCalendar,
    CalendarDate,
    DepartmentCalendar,
    SlaPolicy,
    WorkingInterval,
)


def _check_calendar(calendar: BusinessCalendar) -> None:
    try:
        ZoneInfo(calendar.tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SlaInvalid(
            _("Unknown time zone %s.") % calendar.tz, fields={"tz": _("unknown time zone")}
        ) from exc
    if calendar.kind not in CalendarKind.values:
        raise SlaInvalid(_("Unknown calendar kind."), fields={"kind": _("unknown value")})
    if not source_is_valid(calendar.country):
        raise SlaInvalid(
            _("Unknown holiday source %s.") % calendar.country,
            fields={"country": _("use cn, an ISO country code such as DE, or DE-BE")},
        )


def calendar_compile(*, calendar: BusinessCalendar) -> BusinessCalendar:
    """Validate the calendar with its intervals and dates, store the compiled form under a new
    version, and have the live clocks on it recomputed in the background."""
    from afterdesk.sla.tasks import sla_recompute

    _check_calendar(calendar)
    with transaction.atomic():
        locked = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
        spec = selectors.calendar_spec(locked)
        try:
            built = selectors.build_work_calendar(spec)
        except ValueError as exc:
            raise SlaInvalid(
                _("The working hours are not valid: %s") % exc, fields={"intervals": str(exc)}
            ) from exc
        if locked.kind == CalendarKind.WEEKLY and not built.standard_day_seconds:
            raise SlaInvalid(
                _("A weekly calendar needs working hours on at least one weekday."),
                fields={"intervals": _("required")},
            )
        BusinessCalendar.objects.filter(pk=locked.pk).update(
            spec=spec, version=F("version") + 1, updated_at=timezone.now()
        )
        locked.refresh_from_db()
        sla_recompute.enqueue(calendar_id=locked.pk)
    return locked


def calendar_create(
    *,
    name: str,
    tz: str,
    kind: str = CalendarKind.WEEKLY,
    country: str = "",
    weekly: Mapping[int, Sequence[tuple[time, time]]] | None = None,
    is_default: bool = False,
    description: str = "",
) -> BusinessCalendar:
    """Create a calendar with weekly hours (weekday 0 = Monday -> [(start, end), ...])."""
    calendar = BusinessCalendar(
        name=name,
        tz=tz,
        kind=kind,
        country=country,
        is_default=is_default,
        description=description,
    )
    _check_calendar(calendar)
    with transaction.atomic():
        if is_default:
            BusinessCalendar.objects.filter(is_default=True).update(is_default=False)
        calendar.save()
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=calendar, weekday=weekday, start=start, end=end)
            for weekday, hours in (weekly or {}).items()
            for start, end in hours
        )
        return calendar_compile(calendar=calendar)


def calendar_set_date(
    *,
    calendar: BusinessCalendar,
    day: date,
    is_working: bool,
    intervals: Iterable[tuple[str, str]] = (),
    note: str = "",
) -> BusinessCalendar:
    """Declare one date a holiday or a working day (with its own hours, or the normal ones)."""
    hours = [[start, end] for start, end in intervals]
    with transaction.atomic():
        CalendarDate.objects.update_or_create(
            calendar=calendar,
            date=day,
            defaults={"is_working": is_working, "intervals": hours, "note": note},
        )
        return calendar_compile(calendar=calendar)


def department_calendar_set(*, department: Department, calendar: BusinessCalendar | None) -> None:
    """Give a department its own calendar (None: back to the default); live clocks of its
    cases move to it in the background."""
    from afterdesk.sla.tasks import sla_rematch

    with transaction.atomic():
        if calendar is None:
            DepartmentCalendar.objects.filter(department=department).delete()
        else:
            DepartmentCalendar.objects.update_or_create(
                department=department, defaults={"calendar": calendar}
            )
        sla_rematch.enqueue(department_id=department.pk)


def policy_changed(*, policy: SlaPolicy) -> None:
    """After an admin changed a policy or its targets: re-match the cases with live clocks
    in the background. Cases without clocks pick up new policies when they next change."""
    from afterdesk.sla.tasks import sla_rematch

    sla_rematch.enqueue(department_id=None)
