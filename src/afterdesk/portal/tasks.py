"""Portal housekeeping run by the worker."""

from __future__ import annotations

from datetime import timedelta

from django_tasks import task

from afterdesk.core.periodic import periodic
from afterdesk.portal.services import login_links_prune


@periodic(interval=timedelta(hours=1))
@task()
def portal_prune_login_links() -> int:
    """Delete sign-in links that expired long ago."""
    return login_links_prune()
