from django.db import migrations

SEGMENTS = [
    ("consumer", "Consumer", "个人消费者"),
    ("business", "Business", "企业客户"),
    ("reseller", "Reseller", "经销商"),
]


def seed(apps, schema_editor):
    Segment = apps.get_model("customers", "Segment")
    for code, name_en, name_zh in SEGMENTS:
        Segment.objects.get_or_create(code=code, defaults={"name_en": name_en, "name_zh": name_zh})


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
