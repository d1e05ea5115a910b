"""Writes for customers, their contacts and orders (R22, R38)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from afterdesk.core import fastsql
from afterdesk.core.errors import ValidationFailed
from afterdesk.customers.choices import ContactKind, Language, VipTier
from afterdesk.customers.models import (
    ContactPoint,
    Customer,
    Order,
    OrderLine,
    Organisation,
    Product,
    Segment,
)

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def normalize_email(value: str) -> str:
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """Digits with a leading + for international numbers; 11-digit CN mobiles get +86."""
    raw = value.strip()
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return digits


def validate_email(value: str) -> str:
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed(
            _("Enter a valid e-mail address."), fields={"email": _("not a valid e-mail address")}
        )
    return email


def validate_phone(value: str) -> str:
    phone = value.strip()
    digits = re.sub(r"\D", "", phone)
    if not 5 <= len(digits) <= 20 or re.search(r"[^\d\s+()\-.]", phone):
        raise ValidationFailed(
            _("Enter a valid phone number."), fields={"phone": _("not a valid phone number")}
        )
    return phone


def customer_find_by_contact(*, email: str = "", phone: str = "") -> Customer | None:
    """The customer who owns this e-mail address, else this phone number."""
    if email:
        point = (
            ContactPoint.objects.select_related("customer")
            .filter(kind=ContactKind.EMAIL, normalized=normalize_email(email))
            .first()
        )
        if point:
            return point.customer
    if phone:
        point = (
            ContactPoint.objects.select_related("customer")
            .filter(kind=ContactKind.PHONE, normalized=normalize_phone(phone))
            .first()
        )
        if point:
            return point.customer
    return None


def _add_contact(customer: Customer, kind: str, value: str) -> None:
    """Give the customer this contact unless someone owns it already (a concurrent request
    registering it at the same instant included: the first owner keeps it)."""
    fastsql.execute(
        f"INSERT INTO {fastsql.table(ContactPoint)} (customer_id, kind, value, normalized)"  # noqa: S608
        " VALUES (%s, %s, %s, %s) ON CONFLICT (kind, normalized) DO NOTHING",
        [customer.pk, kind, value, _normalize(kind, value)],
    )


@dataclass(frozen=True)
class CustomerInput:
    name: str
    email: str = ""
    phone: str = ""
    language: str = ""


@dataclass(frozen=True)
class CustomerMatch:
    """The validated contacts of a `CustomerInput` and who owned them when looked up."""

    data: CustomerInput
    email: str
    phone: str
    contacts: dict[tuple[str, str], str]
    owners: dict[str, Customer]

    @property
    def customer(self) -> Customer | None:
        """The known customer (the e-mail address decides when the contacts differ)."""
        return self.owners.get(ContactKind.EMAIL) or self.owners.get(ContactKind.PHONE)

    def newcomer(self) -> Customer:
        """The (unsaved) customer `customer_settle` creates when nobody owns the contacts."""
        data = self.data
        return Customer(
            name=data.name.strip() or self.email or self.phone,
            email=self.email,
            phone=self.phone,
            language=data.language if data.language in Language.values else "zh-hans",
        )


def customer_lookup(*, data: CustomerInput) -> CustomerMatch:
    """Validate the contacts and find their owners: reads only, so intake calls it before its
    write transaction (one query; see `customer_settle`)."""
    email = validate_email(data.email) if data.email else ""
    phone = validate_phone(data.phone) if data.phone else ""
    if not email and not phone:
        raise ValidationFailed(
            _("A customer needs an e-mail address or a phone number."),
            fields={"customer": _("give email or phone")},
        )
    contacts: dict[tuple[str, str], str] = {
        (kind, _normalize(kind, value)): value
        for kind, value in ((ContactKind.EMAIL, email), (ContactKind.PHONE, phone))
        if value
    }
    return CustomerMatch(data, email, phone, contacts, _contact_owners(contacts))


def customer_settle(match: CustomerMatch, *, newcomer: Customer | None = None) -> Customer:
    """The customer of a looked-up contact, inside the caller's transaction.

    A known customer gets the contacts they have not used before (unless another customer
    owns them); otherwise `newcomer` (or `match.newcomer()`) is created with both contacts.
    When a concurrent request registered the contact since the look-up, it is looked up again
    and that customer is returned instead.
    """
    for _attempt in range(3):
        customer = match.customer
        if customer is not None:
            _complete_contacts(customer, email=match.email, phone=match.phone, owners=match.owners)
            return customer
        created = newcomer if newcomer is not None else match.newcomer()
        try:
            with transaction.atomic():
                fastsql.insert([created])
                fastsql.insert(
                    [
                        ContactPoint(
                            customer=created, kind=kind, value=value, normalized=normalized
                        )
                        for (kind, normalized), value in match.contacts.items()
                    ]
                )
            return created
        except IntegrityError:
            # A concurrent request registered the same contact first: look it up again.
            match = CustomerMatch(
                match.data,
                match.email,
                match.phone,
                match.contacts,
                _contact_owners(match.contacts),
            )
    raise ValidationFailed(_("Could not register the customer; try again."), code="retry")


def customer_resolve(*, data: CustomerInput) -> Customer:
    """Find the customer by e-mail or phone, or create them. Used by every intake path.

    One query finds the owners of both contacts; the e-mail address decides when they
    differ. A contact the customer has not used before is added unless another customer
    owns it.
    """
    return customer_settle(customer_lookup(data=data))


def _contact_owners(contacts: dict[tuple[str, str], str]) -> dict[str, Customer]:
    """The customer owning each given contact, by contact kind.

    Every case intake runs this, so the join is written out (core.fastsql).
    """
    customer_columns = fastsql.columns(Customer, "c")
    where = " OR ".join(["(p.kind = %s AND p.normalized = %s)"] * len(contacts))
    rows = fastsql.fetch(
        f"SELECT p.kind, {customer_columns.sql} FROM {fastsql.table(ContactPoint)} p"  # noqa: S608
        f" JOIN {fastsql.table(Customer)} c ON c.id = p.customer_id WHERE {where}",
        [value for contact in contacts for value in contact],
    )
    return {row[0]: customer_columns.build(row, 1) for row in rows}


def _normalize(kind: str, value: str) -> str:
    return normalize_email(value) if kind == ContactKind.EMAIL else normalize_phone(value)


def _complete_contacts(
    customer: Customer, *, email: str, phone: str, owners: dict[str, Customer]
) -> None:
    """Remember a new e-mail or phone the customer used, without taking one from another."""
    changed = []
    if email and not customer.email:
        customer.email = email
        changed.append("email")
    if phone and not customer.phone:
        customer.phone = phone
        changed.append("phone")
    if changed:
        customer.save(update_fields=changed)
    for kind, value in ((ContactKind.EMAIL, email), (ContactKind.PHONE, phone)):
        if value and kind not in owners:
            _add_contact(customer, kind, value)


@dataclass(frozen=True)
class CustomerImport:
    name: str
    external_ref: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    language: str = Language.ZH_HANS
    vip_tier: str = VipTier.NONE
    segment: str = ""
    organisation: str = ""
    notes: str = ""


def customer_import(*, data: CustomerImport) -> tuple[Customer, bool]:
    """Create or update a customer from a CRM/shop record; match by external_ref, then contacts.

    Returns the customer and whether it was created.
    """
    if data.vip_tier not in VipTier.values:
        raise ValidationFailed(
            _("Unknown VIP tier."), fields={"vip_tier": _("one of %s") % ", ".join(VipTier.values)}
        )
    if data.language not in Language.values:
        raise ValidationFailed(
            _("Unknown language."), fields={"language": _("one of %s") % ", ".join(Language.values)}
        )
    emails = [validate_email(e) for e in data.emails]
    phones = [validate_phone(p) for p in data.phones]
    segment = None
    if data.segment:
        segment = Segment.objects.filter(code=data.segment).first()
        if segment is None:
            raise ValidationFailed(
                _("Unknown segment."), fields={"segment": _("no segment %s") % data.segment}
            )
    with transaction.atomic():
        customer = None
        if data.external_ref:
            customer = (
                Customer.objects.select_for_update().filter(external_ref=data.external_ref).first()
            )
        if customer is None:
            customer = customer_find_by_contact(
                email=emails[0] if emails else "", phone=phones[0] if phones else ""
            )
            if (
                customer is not None
                and customer.external_ref
                and data.external_ref
                and customer.external_ref != data.external_ref
            ):
                # Another CRM record shares this contact: it is another customer, not this one.
                # The contact stays with the record that registered it first.
                customer = None
        created = customer is None
        organisation = None
        if data.organisation:
            organisation, _created = Organisation.objects.get_or_create(name=data.organisation)
        fields = {
            "name": data.name.strip(),
            "external_ref": data.external_ref or (customer.external_ref if customer else ""),
            "language": data.language,
            "vip_tier": data.vip_tier,
            "segment": segment,
            "organisation": organisation,
            "notes": data.notes,
            "email": emails[0] if emails else (customer.email if customer else ""),
            "phone": phones[0] if phones else (customer.phone if customer else ""),
        }
        if customer is None:
            customer = Customer.objects.create(**fields)
        else:
            for key, value in fields.items():
                setattr(customer, key, value)
            customer.save(update_fields=list(fields))
        for email in emails:
            _add_contact(customer, ContactKind.EMAIL, email)
        for phone in phones:
            _add_contact(customer, ContactKind.PHONE, phone)
    return customer, created


# Order.total has 12 digits with 2 decimals.
ORDER_TOTAL_LIMIT = Decimal("1e10")


@dataclass(frozen=True)
class OrderLineInput:
    sku: str
    description: str = ""
    quantity: int = 1
    serial: str = ""
    unit_price: Decimal = Decimal("0")


def order_import(
    *,
    customer: Customer,
    reference: str,
    placed_at: datetime,
    delivered_at: datetime | None = None,
    source: str = "",
    currency: str = "CNY",
    lines: list[OrderLineInput] | None = None,
) -> tuple[Order, bool]:
    """Create or replace an order by its reference, with its lines and products."""
    if delivered_at is not None and delivered_at < placed_at:
        raise ValidationFailed(
            _("The delivery date is before the purchase date."),
            fields={"delivered_at": _("before placed_at")},
        )
    lines = lines or []
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(reference=reference).first()
        created = order is None
        total = sum((line.unit_price * line.quantity for line in lines), Decimal("0"))
        if total >= ORDER_TOTAL_LIMIT:
            raise ValidationFailed(
                _("The order total %(total)s is larger than the system accepts.")
                % {"total": total},
                fields={"lines": _("total too large")},
            )
        values = {
            "customer": customer,
            "placed_at": placed_at,
            "delivered_at": delivered_at,
            "source": source,
            "currency": currency.upper(),
            "total": total,
        }
        if order is None:
            order = Order.objects.create(reference=reference, **values)
        else:
            for key, value in values.items():
                setattr(order, key, value)
            order.save(update_fields=list(values))
            order.lines.all().delete()
        products = {p.sku: p for p in Product.objects.filter(sku__in=[ln.sku for ln in lines])}
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=products.get(line.sku),
                sku=line.sku,
                description=line.description
                or (products[line.sku].name if line.sku in products else ""),
                quantity=line.quantity,
                serial=line.serial,
                unit_price=line.unit_price,
            )
            for line in lines
        )
    return order, created
