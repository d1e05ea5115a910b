"""The customer panel of the agent workspace (R22). Thin: load with permission, read, render."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from afterdesk.accounts.decorators import workspace_required
from afterdesk.accounts.models import User
from afterdesk.cases.display import ChoiceLabels
from afterdesk.cases.selectors import customer_case_history
from afterdesk.customers.models import Order, OrderLine
from afterdesk.customers.permissions import get_customer_for_user
from afterdesk.customers.selectors import customer_orders


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _warranty_until(order: Order, line: OrderLine) -> date | None:
    """Warranty runs from delivery (purchase if not delivered) for the product's months."""
    if line.product is None:
        return None
    start: datetime = order.delivered_at or order.placed_at
    return _add_months(timezone.localtime(start).date(), line.product.warranty_months)


@workspace_required
@require_GET
def customer_panel(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Profile, segment and VIP tier, dedicated agent, orders and products, every past case."""
    user: User = request.user  # type: ignore[assignment]
    customer = get_customer_for_user(user, customer_id)
    today = timezone.localdate()
    orders: list[dict[str, Any]] = []
    for order in customer_orders(customer=customer):
        lines = []
        for line in order.lines.all():
            until = _warranty_until(order, line)
            lines.append(
                {
                    "line": line,
                    "warranty_until": until,
                    "in_warranty": bool(until and until >= today),
                }
            )
        orders.append({"order": order, "lines": lines})
    cases, hidden = customer_case_history(user=user, customer=customer, count_hidden=True)
    labels = ChoiceLabels()
    history = [
        {
            "case": case,
            "url": reverse("cases:detail", args=[case.number]),
            "kind_label": labels.kind.get(case.kind, case.kind),
            "status_label": labels.status.get(case.status, case.status),
        }
        for case in cases
    ]
    context = {
        "customer": customer,
        "contacts": list(customer.contacts.all()),
        "orders": orders,
        "cases": history,
        "hidden_cases": hidden,
        "all_cases_url": f"{reverse('cases:queue')}?tab=all&status=any&customer={customer.pk}",
    }
    return render(request, "customers/panel.html", context)
