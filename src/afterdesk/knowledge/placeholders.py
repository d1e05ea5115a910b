"""Placeholders in reply templates: `{customer_name}`, `{case_number}` and a few more.

Template bodies are text written by admins; they are never rendered by a template engine.
Only the names in PLACEHOLDERS are filled, through str.format_map over a dict of plain
strings, after checking that every replacement field is one bare name: no attribute or index
access (`{x.__class__}`, `{x[0]}`), no conversion or format spec. A body that fails the check
is inserted as it is.
"""

from __future__ import annotations

from string import Formatter

from django.utils.translation import gettext_lazy as _

PLACEHOLDERS = {
    "customer_name": _("the customer's name"),
    "case_number": _("the service number"),
    "case_subject": _("the subject of the case"),
    "agent_name": _("your name"),
    "order_ref": _("the order reference"),
}


class PlaceholderError(ValueError):
    pass


def placeholders_check(body: str) -> list[str]:
    """The placeholder names `body` uses; PlaceholderError if it uses anything else."""
    names: list[str] = []
    try:
        parsed = list(Formatter().parse(body))
    except ValueError as exc:
        raise PlaceholderError(_("Unbalanced braces: write {{ and }} for literal braces.")) from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise PlaceholderError(
                _("Unknown placeholder {%(name)s}. Available: %(available)s")
                % {"name": name, "available": ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)}
            )
        names.append(name)
    return names


def placeholders_fill(body: str, values: dict[str, str]) -> str:
    """`body` with its placeholders replaced by `values` (missing ones become empty)."""
    try:
        placeholders_check(body)
    except PlaceholderError:
        return body
    safe = {name: str(values.get(name, "")) for name in PLACEHOLDERS}
    return body.format_map(safe)
