"""Every write to an RMA: validate, write, record the case event — one transaction each.

The RMA's state machine is data (`choices.ALLOWED`); `lifecycle._move` is the one place a
state changes: it checks the table, stamps the milestone column, saves with update_fields and
records `rma.state_changed` on the case timeline with the step's data. The public services
lock the RMA row first (`select_for_update`), so two scans of one parcel cannot both receive
it. One module per part: creation, lifecycle, workshop (inspection, diagnosis, quote), quick
close, compensation; this package re-exports them.
"""

from afterdesk.rma.services.compensation import (
    CompensationInput,
    authority_of,
    compensation_decide,
    compensation_propose,
    tier_for,
)
from afterdesk.rma.services.create import ItemInput, policy_for, rma_create, rma_item_add
from afterdesk.rma.services.lifecycle import (
    CUSTOMER_STEPS,
    allowed_steps,
    rma_auto_confirm_due,
    rma_confirm_receipt,
    rma_find_for_scan,
    rma_receive,
    rma_set_disposition,
    rma_shipment_add,
    rma_transition,
)
from afterdesk.rma.services.quick_close import (
    QUICK_CLOSE_STATES,
    QuickCloseCheck,
    quick_close_check,
    rma_quick_close,
)
from afterdesk.rma.services.workshop import (
    InspectionInput,
    inspection_passed,
    rma_diagnose,
    rma_inspect,
    rma_quote_answer,
)

__all__ = [
    "CUSTOMER_STEPS",
    "QUICK_CLOSE_STATES",
    "CompensationInput",
    "InspectionInput",
    "ItemInput",
    "QuickCloseCheck",
    "allowed_steps",
    "authority_of",
    "compensation_decide",
    "compensation_propose",
    "inspection_passed",
    "policy_for",
    "quick_close_check",
    "rma_auto_confirm_due",
    "rma_confirm_receipt",
    "rma_create",
    "rma_diagnose",
    "rma_find_for_scan",
    "rma_inspect",
    "rma_item_add",
    "rma_quick_close",
    "rma_quote_answer",
    "rma_receive",
    "rma_set_disposition",
    "rma_shipment_add",
    "rma_transition",
    "tier_for",
]
