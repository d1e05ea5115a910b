from django.db import migrations

# R7: repairs to the repair department, returns and exchanges to logistics / warehouse,
# dead on arrival, wrong item and missing parts to after-sales (customer) service.
ROUTES = [
    ("repair", "", "repair", 10),
    ("return", "", "logistics", 20),
    ("exchange", "", "logistics", 30),
    ("", "product.doa", "customer-service", 40),
    ("", "product.wrong_item", "customer-service", 50),
    ("", "product.missing_parts", "customer-service", 60),
]


def seed(apps, schema_editor):
    TriageSettings = apps.get_model("triage", "TriageSettings")
    TriageSettings.objects.get_or_create(pk=1)
    Route = apps.get_model("triage", "Route")
    Category = apps.get_model("cases", "Category")
    Department = apps.get_model("accounts", "Department")
    for kind, category_code, department_code, position in ROUTES:
        department = Department.objects.filter(code=department_code).first()
        category = Category.objects.filter(code=category_code).first() if category_code else None
        if department is None or (category_code and category is None):
            continue
        Route.objects.get_or_create(
            kind=kind, category=category, defaults={"department": department, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("triage", "0001_initial"),
        ("cases", "0002_seed_taxonomy"),
        ("accounts", "0002_seed_departments"),
    ]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
