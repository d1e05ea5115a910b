"""Drop foreign-key indexes nothing looks rows up by.

Every index costs each INSERT a page write. The index is dropped by name (the same on SQLite
and PostgreSQL): Django's AlterField would rebuild the whole table on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0003_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "sla_slatimer_calendar_id_b99156b6"',
                    reverse_sql='CREATE INDEX "sla_slatimer_calendar_id_b99156b6" ON "sla_slatimer" ("calendar_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "sla_slatimer_policy_id_3bdc2561"',
                    reverse_sql='CREATE INDEX "sla_slatimer_policy_id_3bdc2561" ON "sla_slatimer" ("policy_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "sla_slatimer_target_id_0964ccb8"',
                    reverse_sql='CREATE INDEX "sla_slatimer_target_id_0964ccb8" ON "sla_slatimer" ("target_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="slatimer",
                    name="calendar",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="sla.businesscalendar",
                    ),
                ),
                migrations.AlterField(
                    model_name="slatimer",
                    name="policy",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="timers",
                        to="sla.slapolicy",
                    ),
                ),
                migrations.AlterField(
                    model_name="slatimer",
                    name="target",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="timers",
                        to="sla.slatarget",
                    ),
                ),
            ],
        ),
    ]
