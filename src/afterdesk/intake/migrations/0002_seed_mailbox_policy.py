"""The demo support address as an active SMTP mailbox, and the default intake policy.

The default periods and their basis are documented in afterdesk.intake.policies.
"""

from django.db import migrations

BASIS = (
    "Return 7 days: PRC Consumer Rights Protection Law art. 25 (seven-day no-reason return). "
    "Exchange 15 days: three-guarantees rules (部分商品修理更换退货责任规定) art. 8. "
    "Repair: the product's warranty months. "
    "Complaints 90 days after delivery: company default, not a statutory period."
)


def seed(apps, schema_editor):
    Mailbox = apps.get_model("intake", "Mailbox")
    IntakePolicy = apps.get_model("intake", "IntakePolicy")
    Mailbox.objects.get_or_create(
        address="support@example.com",
        defaults={"kind": "smtp", "display_name": "Afterdesk", "is_active": True},
    )
    IntakePolicy.objects.get_or_create(
        product_line="",
        defaults={
            "complaint_days_after_delivery": 90,
            "return_days": 7,
            "exchange_days": 15,
            "basis": BASIS,
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("intake", "Mailbox").objects.filter(
        address="support@example.com", messages__isnull=True
    ).delete()
    apps.get_model("intake", "IntakePolicy").objects.filter(product_line="").delete()


class Migration(migrations.Migration):
    dependencies = [("intake", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
