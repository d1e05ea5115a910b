"""`afterdesk queue_counters_rebuild`: recount the queue tab counters (after a bulk import)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from afterdesk.cases.counters import queue_counters_rebuild


class Command(BaseCommand):
    help = (
        "Recompute the maintained queue counters from the case table. Needed only after "
        "loading cases without the case services (bulk imports)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        buckets = queue_counters_rebuild()
        self.stdout.write(f"{buckets} queue counter buckets rebuilt")
