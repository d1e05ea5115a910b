import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count


def count_existing_cases(apps, schema_editor):
    """Fill the counters for the cases that exist before the services maintain them."""
    Case = apps.get_model("cases", "Case")
    QueueCounter = apps.get_model("cases", "QueueCounter")
    rows = (
        Case.objects.values("department_id", "owner_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    QueueCounter.objects.bulk_create(
        [
            QueueCounter(
                department_id=row["department_id"] or 0,
                owner_id=row["owner_id"] or 0,
                status=row["status"],
                count=row["n"],
            )
            for row in rows
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_case_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="QueueCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("department_id", models.PositiveBigIntegerField(default=0)),
                ("owner_id", models.PositiveBigIntegerField(default=0)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("new", "New"),
                            ("open", "Open"),
                            ("pending_customer", "Waiting for customer"),
                            ("pending_internal", "Waiting internally"),
                            ("resolved", "Resolved"),
                            ("closed", "Closed"),
                            ("cancelled", "Cancelled"),
                        ],
                        max_length=20,
                    ),
                ),
                ("count", models.BigIntegerField(default=0)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["owner_id", "status"], name="queue_counter_owner")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("department_id", "owner_id", "status"), name="uniq_queue_counter"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SavedView",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=60, verbose_name="name")),
                ("query", models.CharField(blank=True, max_length=1000, verbose_name="filters")),
                ("position", models.PositiveSmallIntegerField(default=0, verbose_name="position")),
                ("created_at", models.DateTimeField(verbose_name="created at")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="saved_views",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "saved view",
                "verbose_name_plural": "saved views",
                "ordering": ["position", "id"],
                "constraints": [
                    models.UniqueConstraint(fields=("user", "name"), name="uniq_saved_view_name")
                ],
            },
        ),
        migrations.RunPython(count_existing_cases, migrations.RunPython.noop),
    ]
