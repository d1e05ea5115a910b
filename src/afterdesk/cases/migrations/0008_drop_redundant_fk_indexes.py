"""Drop single-column foreign-key indexes that a composite index already leads with.

Every index costs each INSERT; these duplicated the leading column of a composite index that
serves the same look-ups and foreign-key checks. The index is dropped by name (the same on
SQLite and PostgreSQL): Django's AlterField would rebuild the whole table on SQLite.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_seed_departments"),
        ("cases", "0007_triage_event_types"),
        ("customers", "0002_seed_segments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "cases_case_category_id_c6dc5a5a"',
                    reverse_sql='CREATE INDEX "cases_case_category_id_c6dc5a5a" ON "cases_case" ("category_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "cases_case_customer_id_3e0cf925"',
                    reverse_sql='CREATE INDEX "cases_case_customer_id_3e0cf925" ON "cases_case" ("customer_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "cases_case_department_id_c5b7309d"',
                    reverse_sql='CREATE INDEX "cases_case_department_id_c5b7309d" ON "cases_case" ("department_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "cases_case_owner_id_352cf2f7"',
                    reverse_sql='CREATE INDEX "cases_case_owner_id_352cf2f7" ON "cases_case" ("owner_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "cases_caseevent_case_id_6c6031ac"',
                    reverse_sql='CREATE INDEX "cases_caseevent_case_id_6c6031ac" ON "cases_caseevent" ("case_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="category",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="cases.category",
                        verbose_name="category",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="department",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="accounts.department",
                        verbose_name="department",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="owned_cases",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="cases.case",
                    ),
                ),
            ],
        ),
    ]
