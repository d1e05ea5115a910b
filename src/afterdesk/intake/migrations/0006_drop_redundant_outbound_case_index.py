"""Drop foreign-key indexes nothing looks rows up by.

Every index costs each INSERT a page write. The index is dropped by name (the same on SQLite
and PostgreSQL): Django's AlterField would rebuild the whole table on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_drop_case_created_by_index"),
        ("intake", "0005_inbound_claimed_until"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "intake_outboundmessage_case_id_708fae03"',
                    reverse_sql='CREATE INDEX "intake_outboundmessage_case_id_708fae03" ON "intake_outboundmessage" ("case_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="outboundmessage",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outbound_messages",
                        to="cases.case",
                    ),
                ),
            ],
        ),
    ]
