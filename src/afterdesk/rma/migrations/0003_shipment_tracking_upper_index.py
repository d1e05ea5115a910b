"""Scanned tracking numbers are compared upper-cased: the index is on upper(tracking_number),
which the look-up can use (a case-insensitive LIKE on SQLite read every shipment)."""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rma", "0002_seed_rules"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="shipment",
            name="rma_shipment_tracking",
        ),
        migrations.AddIndex(
            model_name="shipment",
            index=models.Index(
                django.db.models.functions.text.Upper("tracking_number"),
                name="rma_shipment_tracking_upper",
            ),
        ),
    ]
