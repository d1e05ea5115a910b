from django.db import migrations

TEMPLATES = [
    (
        "RMA instructions",
        "en",
        ["repair", "return", "exchange"],
        10,
        "Dear {customer_name},\n\n"
        "Thank you for your patience. Your return is authorised under service number "
        "{case_number}.\n\n"
        "1. Pack the product with all accessories, in its original box if you still have it.\n"
        "2. Write {case_number} clearly on the outside of the parcel.\n"
        "3. Send it to our service centre; we reimburse the shipping cost on receipt.\n\n"
        "We will inspect it within two working days of arrival and keep you informed here.\n\n"
        "Kind regards,\n{agent_name}",
    ),
    (
        "退换货寄回说明",
        "zh-hans",
        ["repair", "return", "exchange"],
        11,
        "{customer_name}您好：\n\n"
        "感谢您的耐心等待。您的售后申请已审核通过，服务单号为 {case_number}。\n\n"
        "1. 请将商品连同全部配件妥善包装，如有原包装盒请一并寄回；\n"
        "2. 请在包裹外侧醒目位置注明服务单号 {case_number}；\n"
        "3. 寄至我们的售后服务中心，运费将在签收后为您报销。\n\n"
        "我们会在收货后两个工作日内完成检测，并在此及时告知您进展。\n\n"
        "祝好！\n{agent_name}",
    ),
    (
        "Apology",
        "en",
        ["complaint", "inquiry", "repair", "return", "exchange"],
        20,
        "Dear {customer_name},\n\n"
        "I am sorry about the trouble with “{case_subject}”, and for the inconvenience it has "
        "caused you. I have taken over your case {case_number} personally and will see it "
        "through to the end.\n\n"
        "Kind regards,\n{agent_name}",
    ),
    (
        "致歉",
        "zh-hans",
        ["complaint", "inquiry", "repair", "return", "exchange"],
        21,
        "{customer_name}您好：\n\n"
        "关于“{case_subject}”给您带来的不便，我们深表歉意。您的服务单 {case_number} "
        "已由我本人负责跟进，我会一直跟进到问题彻底解决。\n\n"
        "再次向您致歉！\n{agent_name}",
    ),
    (
        "Refund confirmation",
        "en",
        ["return", "dispute", "complaint"],
        30,
        "Dear {customer_name},\n\n"
        "We have issued the refund for order {order_ref} (service number {case_number}). "
        "Depending on your bank or payment platform it reaches your account within 1–7 working "
        "days.\n\n"
        "If it has not arrived by then, simply reply to this message.\n\n"
        "Kind regards,\n{agent_name}",
    ),
    (
        "退款确认",
        "zh-hans",
        ["return", "dispute", "complaint"],
        31,
        "{customer_name}您好：\n\n"
        "订单 {order_ref} 的退款已办理完成（服务单号 {case_number}）。根据银行或支付平台的"
        "处理时间，款项将在 1–7 个工作日内原路退回您的账户。\n\n"
        "如届时仍未到账，请直接回复此消息，我们会为您查询。\n\n"
        "祝好！\n{agent_name}",
    ),
    (
        "Payment dispute received",
        "en",
        ["dispute"],
        40,
        "Dear {customer_name},\n\n"
        "We have received your payment dispute about order {order_ref} and opened service "
        "number {case_number}. To review it we need:\n\n"
        "- the date and amount of the charge,\n"
        "- a screenshot of the payment record,\n"
        "- a short description of what went wrong.\n\n"
        "Please reply with these details; we answer disputes within three working days.\n\n"
        "Kind regards,\n{agent_name}",
    ),
    (
        "支付争议受理",
        "zh-hans",
        ["dispute"],
        41,
        "{customer_name}您好：\n\n"
        "我们已收到您关于订单 {order_ref} 的支付争议，服务单号为 {case_number}。为尽快核实，"
        "请提供以下信息：\n\n"
        "- 扣款日期及金额；\n"
        "- 支付记录截图；\n"
        "- 问题的简要说明。\n\n"
        "请直接回复本消息提交以上资料，我们将在三个工作日内给您答复。\n\n"
        "祝好！\n{agent_name}",
    ),
]


def seed(apps, schema_editor):
    ReplyTemplate = apps.get_model("knowledge", "ReplyTemplate")
    for name, language, kinds, position, body in TEMPLATES:
        ReplyTemplate.objects.get_or_create(
            name=name,
            defaults={"language": language, "kinds": kinds, "position": position, "body": body},
        )


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
