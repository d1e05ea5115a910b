"""Reply templates: placeholders are filled by name only, never evaluated."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from afterdesk.knowledge.models import ReplyTemplate
from afterdesk.knowledge.placeholders import PlaceholderError, placeholders_check, placeholders_fill
from afterdesk.knowledge.selectors import reply_templates_for

VALUES = {"customer_name": "王芳", "case_number": "AS-20261123-00042", "agent_name": "Li Na"}


def test_fill_replaces_known_placeholders() -> None:
    text = placeholders_fill("{customer_name}您好，{case_number}。{agent_name}", VALUES)
    assert text == "王芳您好，AS-20261123-00042。Li Na"


def test_missing_values_become_empty_and_braces_can_be_escaped() -> None:
    assert placeholders_fill("Order {order_ref} {{literal}}", {}) == "Order  {literal}"


@pytest.mark.parametrize(
    "body",
    [
        "{customer_name.__class__.__mro__}",
        "{customer_name[0]}",
        "{customer_name!r}",
        "{customer_name:>100000}",
        "{settings}",
        "{0}",
        "unbalanced {",
        "{% load evil %}{{ request }}",
    ],
)
def test_anything_but_a_known_name_is_refused_and_inserted_verbatim(body: str) -> None:
    with pytest.raises(PlaceholderError):
        placeholders_check(body)
    assert placeholders_fill(body, VALUES) == body


def test_user_values_are_not_reinterpreted() -> None:
    values = {"customer_name": "{case_number} {{ x }} %s"}
    assert placeholders_fill("Hi {customer_name}", values) == "Hi {case_number} {{ x }} %s"


@pytest.mark.django_db
def test_admin_validation_names_the_bad_placeholder() -> None:
    template = ReplyTemplate(name="Bad", body="Hello {customer}", kinds=["repair"])
    with pytest.raises(ValidationError) as error:
        template.full_clean()
    assert "customer" in str(error.value)
    template = ReplyTemplate(name="Bad kinds", body="Hello", kinds=["teleport"])
    with pytest.raises(ValidationError):
        template.full_clean()


@pytest.mark.django_db
def test_seeded_templates_in_both_languages() -> None:
    names = set(ReplyTemplate.objects.values_list("name", flat=True))
    assert {"RMA instructions", "退换货寄回说明", "Refund confirmation", "退款确认"} <= names
    assert {"Apology", "致歉", "Payment dispute received", "支付争议受理"} <= names
    for template in ReplyTemplate.objects.all():
        placeholders_check(template.body)


@pytest.mark.django_db
def test_templates_for_a_case_put_the_customer_language_first() -> None:
    zh = [t.name for t in reply_templates_for(kind="dispute", language="zh-hans")]
    en = [t.name for t in reply_templates_for(kind="dispute", language="en")]
    assert zh.index("支付争议受理") < zh.index("Payment dispute received")
    assert en.index("Payment dispute received") < en.index("支付争议受理")
    assert "RMA instructions" not in zh
    ReplyTemplate.objects.filter(name="支付争议受理").update(is_active=False)
    assert "支付争议受理" not in [
        t.name for t in reply_templates_for(kind="dispute", language="zh-hans")
    ]
