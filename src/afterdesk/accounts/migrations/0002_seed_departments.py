from django.db import migrations

DEPARTMENTS = [
    ("customer-service", "Customer service", "客服部", ["complaint", "inquiry", "dispute"], 1),
    ("repair", "Repair", "维修部", ["repair"], 2),
    ("logistics", "Logistics & warehouse", "物流仓储部", ["return", "exchange"], 3),
    ("tech", "Technology", "技术部", [], 4),
    ("product", "Product", "产品部", [], 5),
]


def seed(apps, schema_editor):
    Department = apps.get_model("accounts", "Department")
    for code, name_en, name_zh, kinds, position in DEPARTMENTS:
        Department.objects.get_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_zh": name_zh,
                "handles_kinds": kinds,
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
