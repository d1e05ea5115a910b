"""How RMA and compensation events read on the case timeline (called by cases.display)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from afterdesk.cases.choices import EventType
from afterdesk.cases.models import CaseEvent
from afterdesk.rma.choices import (
    CompensationType,
    Disposition,
    QuickCloseOutcome,
    QuoteStatus,
    Reason,
    State,
)


def _label(choices: Any, code: Any) -> str:
    return str(dict(choices).get(code, code or ""))


def describe_event(event: CaseEvent) -> str:
    """One line for an `rma.*` or `compensation.*` event, in the reader's language."""
    payload = event.payload or {}
    kind = event.type
    if kind == EventType.RMA_CREATED:
        return _("RMA requested: %s") % _label(Reason.choices, payload.get("reason"))
    if kind == EventType.RMA_STATE_CHANGED:
        text = _("RMA: %(old)s → %(new)s") % {
            "old": _label(State.choices, event.old),
            "new": _label(State.choices, event.new),
        }
        if payload.get("tracking_number"):
            text += f" ({payload.get('carrier', '')} {payload['tracking_number']})"
        if payload.get("auto"):
            text += " · " + _("confirmed automatically when the window ran out")
        if payload.get("note"):
            text += f" · {payload['note']}"
        return text
    if kind == EventType.RMA_ITEM_ADDED:
        return _("RMA item added: %(sku)s × %(quantity)s") % {
            "sku": payload.get("sku", ""),
            "quantity": payload.get("quantity", 1),
        }
    if kind == EventType.RMA_SHIPMENT_ADDED:
        return _("Shipment recorded: %(carrier)s %(tracking)s") % {
            "carrier": payload.get("carrier", ""),
            "tracking": payload.get("tracking_number", ""),
        }
    if kind == EventType.RMA_INSPECTED:
        verdict = _("passed") if payload.get("passed") else _("failed")
        return _("Goods inspected: %s") % verdict
    if kind == EventType.RMA_DIAGNOSED:
        text = _("Repair diagnosis: %s") % payload.get("fault", "")
        if payload.get("cost"):
            text += " · " + _("quote %(cost)s %(currency)s") % {
                "cost": payload["cost"],
                "currency": payload.get("currency", ""),
            }
        return text
    if kind == EventType.RMA_QUOTE_ANSWERED:
        return _("Repair quote: %s") % _label(QuoteStatus.choices, event.new)
    if kind == EventType.RMA_QUICK_CLOSED:
        return _("Quick close: %(outcome)s under “%(rule)s”") % {
            "outcome": _label(QuickCloseOutcome.choices, payload.get("outcome")),
            "rule": payload.get("rule", ""),
        }
    if kind == EventType.RMA_DISPOSITION_SET:
        return _("Disposition: %s") % _label(Disposition.choices, event.new)
    label = _label(EventType.choices, kind)
    text = f"{label}: {_label(CompensationType.choices, payload.get('type'))}"
    if payload.get("value"):
        text += f" {payload['value']} {payload.get('currency', '')}".rstrip()
    if payload.get("coupon"):
        text += " · " + _("coupon %s") % payload["coupon"]
    if payload.get("note"):
        text += f" · {payload['note']}"
    return text
