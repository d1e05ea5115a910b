from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    TECHNICIAN = "technician", _("Technician")
    WAREHOUSE = "warehouse", _("Warehouse")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")
    INTEGRATION = "integration", _("Integration")


STAFF_ROLES = frozenset(
    {Role.AGENT, Role.TECHNICIAN, Role.WAREHOUSE, Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION}
)
# Roles that see every case, not only their departments'.
ALL_CASES_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION})
# Roles that may import customers and orders and change configuration through the API.
MANAGER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.INTEGRATION})
