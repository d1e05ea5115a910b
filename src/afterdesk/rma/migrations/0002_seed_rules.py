"""Seed the RMA rules an installation starts with; all of them are edited in the admin.

- RMA policy default: return 7 days / exchange 15 days after delivery (the same statutory
  periods as the intake policy), repairs within the product's warranty, a paid quote outside it.
- Exchange rates to CNY (the base currency): indicative values, to be kept current by admins.
- Quick close: up to 25 USD for DOA, wrong item, missing parts or transit damage, not for
  customers flagged for abuse (R15).
- Compensation tiers (R14): agents up to 100 CNY / 10 % / 3 months, supervisors up to 500 CNY /
  30 % / 12 months, the director (administrator role) above that.
"""

from decimal import Decimal

from django.db import migrations

RATES = [
    ("CNY", "1"),
    ("USD", "7.10"),
    ("EUR", "7.70"),
    ("HKD", "0.91"),
    ("JPY", "0.047"),
    ("GBP", "9.00"),
]

TIERS = [
    ("fixed_amount", "Goodwill up to 100 CNY", "100", "agent"),
    ("fixed_amount", "Goodwill up to 500 CNY", "500", "supervisor"),
    ("fixed_amount", "Goodwill above 500 CNY", None, "admin"),
    ("coupon", "Coupon up to 100 CNY", "100", "agent"),
    ("coupon", "Coupon up to 500 CNY", "500", "supervisor"),
    ("coupon", "Coupon above 500 CNY", None, "admin"),
    ("refund_percent", "Partial refund up to 10 %", "10", "agent"),
    ("refund_percent", "Partial refund up to 30 %", "30", "supervisor"),
    ("refund_percent", "Partial refund above 30 %", "100", "admin"),
    ("extended_warranty", "Extended warranty up to 3 months", "3", "agent"),
    ("extended_warranty", "Extended warranty up to 12 months", "12", "supervisor"),
    ("extended_warranty", "Extended warranty above 12 months", None, "admin"),
    ("expedited_shipping", "Expedited shipping", None, "agent"),
    ("free_upgrade", "Free upgrade", None, "supervisor"),
]


def seed(apps, schema_editor):
    RmaPolicy = apps.get_model("rma", "RmaPolicy")
    ExchangeRate = apps.get_model("rma", "ExchangeRate")
    QuickCloseRule = apps.get_model("rma", "QuickCloseRule")
    CompensationTier = apps.get_model("rma", "CompensationTier")
    RmaPolicy.objects.get_or_create(
        product_line="",
        defaults={
            "return_days": 7,
            "exchange_days": 15,
            "out_of_warranty": "paid_quote",
            "confirm_receipt_days": 3,
            "return_address": "Afterdesk Returns Centre\n88 Service Road, Pudong\nShanghai 200120",
            "return_instructions": (
                "Pack the item with its accessories, put the printed return slip inside the "
                "parcel and write the RMA number on the box."
            ),
        },
    )
    for currency, rate in RATES:
        ExchangeRate.objects.get_or_create(currency=currency, defaults={"rate": Decimal(rate)})
    QuickCloseRule.objects.get_or_create(
        name="Small amount, clear fault",
        defaults={
            "position": 10,
            "max_amount": Decimal("25.00"),
            "max_amount_currency": "USD",
            "reasons": ["doa", "wrong_item", "missing_parts", "damaged_in_transit"],
            "kinds": [],
            "outcomes": [],
            "exclude_flagged": True,
        },
    )
    if not CompensationTier.objects.exists():
        CompensationTier.objects.bulk_create(
            CompensationTier(
                type=type_,
                name=name,
                up_to=Decimal(up_to) if up_to is not None else None,
                approver_role=role,
            )
            for type_, name, up_to, role in TIERS
        )


class Migration(migrations.Migration):
    dependencies = [("rma", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
