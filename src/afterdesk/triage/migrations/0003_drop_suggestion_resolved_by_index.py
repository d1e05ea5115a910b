"""Drop foreign-key indexes nothing looks rows up by.

Every index costs each INSERT a page write. The index is dropped by name (the same on SQLite
and PostgreSQL): Django's AlterField would rebuild the whole table on SQLite.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("triage", "0002_seed_settings_routes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "triage_suggestion_resolved_by_id_43c1a5da"',
                    reverse_sql='CREATE INDEX "triage_suggestion_resolved_by_id_43c1a5da" ON "triage_suggestion" ("resolved_by_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="suggestion",
                    name="resolved_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
