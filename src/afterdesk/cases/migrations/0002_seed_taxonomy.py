from django.db import migrations

# R5: classification by nature of the complaint.
TAXONOMY = [
    (
        "product",
        "Product",
        "商品问题",
        [
            ("quality", "Quality defect", "质量问题"),
            ("not_as_described", "Not as described", "与描述不符"),
            ("counterfeit", "Counterfeit", "假冒商品"),
            ("doa", "Dead on arrival", "到货即坏"),
            ("wrong_item", "Wrong item", "发错货"),
            ("missing_parts", "Missing parts", "缺件少配件"),
        ],
    ),
    (
        "logistics",
        "Logistics",
        "物流问题",
        [
            ("delay", "Delivery delay", "配送延误"),
            ("damage", "Damaged in transit", "运输损坏"),
            ("loss", "Lost parcel", "包裹丢失"),
        ],
    ),
    (
        "service",
        "Service",
        "服务问题",
        [
            ("slow_response", "Slow response", "响应慢"),
            ("attitude", "Staff attitude", "服务态度"),
            ("after_sales", "After-sales handling", "售后处理"),
        ],
    ),
    (
        "transaction",
        "Transaction",
        "交易问题",
        [
            ("cancellation", "Order cancellation", "取消订单"),
            ("refund", "Refund", "退款"),
            ("payment_security", "Payment security", "支付安全"),
        ],
    ),
]


def seed(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    for position, (code, name_en, name_zh, children) in enumerate(TAXONOMY, start=1):
        parent, _ = Category.objects.get_or_create(
            code=code, defaults={"name_en": name_en, "name_zh": name_zh, "position": position}
        )
        for child_position, (child, child_en, child_zh) in enumerate(children, start=1):
            Category.objects.get_or_create(
                code=f"{code}.{child}",
                defaults={
                    "parent": parent,
                    "name_en": child_en,
                    "name_zh": child_zh,
                    "position": child_position,
                },
            )
    CaseSettings = apps.get_model("cases", "CaseSettings")
    CaseSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
