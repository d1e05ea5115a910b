from __future__ import annotations

import re

from django.db.models import Prefetch, QuerySet

from afterdesk.core import fastsql
from afterdesk.customers.choices import ContactKind
from afterdesk.customers.models import ContactPoint, Customer, Order, OrderLine, Product
from afterdesk.customers.services import normalize_email, normalize_phone


def product_by_sku(sku: str) -> Product | None:
    """The product with this SKU. Every new case naming a product asks (triage, the policy
    check), so the query is prepared once per process (core.fastsql)."""
    found = fastsql.select(Product, "p", f"FROM {fastsql.table(Product)} p WHERE p.sku = %s", [sku])
    return found[0] if found else None


def customer_detail(*, customer_id: int) -> Customer | None:
    return (
        Customer.objects.select_related("segment", "organisation", "dedicated_agent")
        .prefetch_related("contacts")
        .filter(pk=customer_id)
        .first()
    )


def _with_lines() -> Prefetch:
    return Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id"))


def order_detail(*, order_id: int) -> Order:
    return Order.objects.prefetch_related(_with_lines()).get(pk=order_id)


def customer_orders(*, customer: Customer) -> list[Order]:
    return list(
        Order.objects.filter(customer=customer)
        .prefetch_related(_with_lines())
        .order_by("-placed_at")
    )


LOOKUP_MAX = 8


def customers_lookup(*, text: str, limit: int = LOOKUP_MAX) -> list[Customer]:
    """Customers whose e-mail or phone starts with `text`, or whose name does.

    Prefix ranges on the unique (kind, normalized) contact index and on the name index, so a
    look-up as the agent types stays fast with millions of customers. A name is matched as
    typed and with a capital first letter ("emma" finds "Emma Wilson"); a single word is
    also tried as the start of an e-mail address.
    """
    value = text.strip()
    if len(value) < 2:
        return []
    digits = re.sub(r"\D", "", value)
    contacts: list[tuple[str, str]] = []
    names: list[str] = []
    if "@" in value:
        contacts.append((ContactKind.EMAIL, normalize_email(value)))
    elif len(digits) >= 3 and re.fullmatch(r"[\d\s+()\-.]+", value):
        normalized = normalize_phone(value)
        # A mainland mobile typed without +86 is stored with it.
        if not normalized.startswith("+") and digits.startswith("1"):
            normalized = "+86" + digits
        contacts.append((ContactKind.PHONE, normalized))
    else:
        names = list(dict.fromkeys([value, value[:1].upper() + value[1:]]))
        if " " not in value and value.isascii():
            contacts.append((ContactKind.EMAIL, normalize_email(value)))
    ids: list[int] = []
    for kind, prefix in contacts:
        ids += list(
            ContactPoint.objects.filter(
                kind=kind, normalized__gte=prefix, normalized__lt=prefix + "\U0010ffff"
            )
            .order_by("kind", "normalized")
            .values_list("customer_id", flat=True)[:limit]
        )
    found: dict[int, Customer] = {}
    if ids:
        found.update((c.pk, c) for c in _lookup_queryset().filter(pk__in=ids))
    for name in names:
        matches = (
            _lookup_queryset()
            .filter(name__gte=name, name__lt=name + "\U0010ffff")
            .order_by("name")[:limit]
        )
        found.update((c.pk, c) for c in matches)
    return sorted(found.values(), key=lambda c: c.name)[:limit]


def _lookup_queryset() -> QuerySet[Customer]:
    return Customer.objects.select_related("segment", "dedicated_agent")
