"""Drop foreign-key indexes nothing looks rows up by.

Every index costs each INSERT a page write. The index is dropped by name (the same on SQLite
and PostgreSQL): Django's AlterField would rebuild the whole table on SQLite.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_seed_segments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "customers_customer_dedicated_agent_id_9614b466"',
                    reverse_sql='CREATE INDEX "customers_customer_dedicated_agent_id_9614b466" ON "customers_customer" ("dedicated_agent_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "customers_customer_organisation_id_53525f42"',
                    reverse_sql='CREATE INDEX "customers_customer_organisation_id_53525f42" ON "customers_customer" ("organisation_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "customers_customer_segment_id_47032e27"',
                    reverse_sql='CREATE INDEX "customers_customer_segment_id_47032e27" ON "customers_customer" ("segment_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="dedicated_agent",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="dedicated_customers",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="dedicated agent",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="organisation",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="customers",
                        to="customers.organisation",
                        verbose_name="organisation",
                    ),
                ),
                migrations.AlterField(
                    model_name="customer",
                    name="segment",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to="customers.segment",
                        verbose_name="segment",
                    ),
                ),
            ],
        ),
    ]
