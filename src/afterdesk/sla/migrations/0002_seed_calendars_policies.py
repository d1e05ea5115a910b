"""Seed the calendars cn-business and 24x7 and the default SLA policies of the source documents.

Targets are working time of the policy's calendar (the default, cn-business, 8 working hours a
day): first response urgent 1 h, high 4 h, normal 24 h, low 48 h; first feedback 24 h;
solution plan 72 h; complex cases resolved within 5 working days (40 h); for repairs, returns
and exchanges diagnosis 24 h after receipt and the customer's receipt confirmation 24 h.
"""

from datetime import time

from django.db import migrations

H = 3600
MORNING = [32400, 43200]  # 09:00-12:00
AFTERNOON = [46800, 64800]  # 13:00-18:00
CN_BUSINESS_SPEC = {
    "tz": "Asia/Shanghai",
    "kind": "weekly",
    "country": "cn",
    "weekly": [[MORNING, AFTERNOON]] * 5 + [[], []],
    "dates": {},
}
ALWAYS_SPEC = {
    "tz": "Asia/Shanghai",
    "kind": "24x7",
    "country": "",
    "weekly": [[]] * 7,
    "dates": {},
}
WARN = ["notify_owner"]
BREACH = ["notify_owner", "notify_supervisor", "escalation_queue"]

# name, position, match fields, targets [(metric, working seconds)]
POLICIES = [
    ("Urgent", 10, {"priorities": ["urgent"]}, [("first_response", 1 * H)]),
    ("High priority", 20, {"priorities": ["high"]}, [("first_response", 4 * H)]),
    ("Normal priority", 30, {"priorities": ["normal"]}, [("first_response", 24 * H)]),
    ("Low priority", 40, {"priorities": ["low"]}, [("first_response", 48 * H)]),
    ("Complex cases", 50, {"is_complex": True}, [("resolution", 5 * 8 * H)]),
    (
        "Repair, return, exchange",
        60,
        {"kinds": ["repair", "return", "exchange"]},
        [("diagnosis", 24 * H), ("receipt_confirmation", 24 * H)],
    ),
    ("Standard", 100, {}, [("first_feedback", 24 * H), ("solution_plan", 72 * H)]),
]


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    WorkingInterval = apps.get_model("sla", "WorkingInterval")
    SlaPolicy = apps.get_model("sla", "SlaPolicy")
    SlaTarget = apps.get_model("sla", "SlaTarget")

    cn, created = BusinessCalendar.objects.get_or_create(
        name="cn-business",
        defaults={
            "description": "Mainland China office hours, PRC holidays and make-up days",
            "tz": "Asia/Shanghai",
            "kind": "weekly",
            "country": "cn",
            "is_default": True,
            "spec": CN_BUSINESS_SPEC,
        },
    )
    if created:
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=cn, weekday=weekday, start=start, end=end)
            for weekday in range(5)
            for start, end in ((time(9), time(12)), (time(13), time(18)))
        )
    BusinessCalendar.objects.get_or_create(
        name="24x7",
        defaults={
            "description": "Round the clock, for night-shift teams",
            "tz": "Asia/Shanghai",
            "kind": "24x7",
            "spec": ALWAYS_SPEC,
        },
    )
    for name, position, match, targets in POLICIES:
        policy, created = SlaPolicy.objects.get_or_create(
            name=name,
            defaults={"position": position, "pause_statuses": ["pending_customer"], **match},
        )
        if not created:
            continue
        for metric, seconds in targets:
            SlaTarget.objects.create(
                policy=policy,
                metric=metric,
                working_seconds=seconds,
                warn_fraction=0.75,
                warn_actions=WARN,
                breach_actions=BREACH,
            )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
