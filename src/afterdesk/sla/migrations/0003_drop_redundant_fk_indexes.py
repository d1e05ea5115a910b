"""Drop single-column foreign-key indexes that a composite index already leads with.

Every index costs each INSERT; these duplicated the leading column of a composite index that
serves the same look-ups and foreign-key checks. The index is dropped by name (the same on
SQLite and PostgreSQL): Django's AlterField would rebuild the whole table on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_drop_redundant_fk_indexes"),
        ("sla", "0002_seed_calendars_policies"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "sla_slatimer_case_id_f0d7dc5e"',
                    reverse_sql='CREATE INDEX "sla_slatimer_case_id_f0d7dc5e" ON "sla_slatimer" ("case_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="slatimer",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sla_timers",
                        to="cases.case",
                    ),
                ),
            ],
        ),
    ]
