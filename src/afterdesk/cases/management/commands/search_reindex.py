"""`afterdesk search_reindex`: rebuild every case's search document (after a bulk import)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from afterdesk.cases.models import Case
from afterdesk.cases.search import search_index_case


class Command(BaseCommand):
    help = "Rebuild the full-text search documents of cases."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"]
        done = 0
        last_id = 0
        while True:
            cases = list(
                Case.objects.select_related("customer")
                .filter(pk__gt=last_id)
                .order_by("pk")[:batch]
            )
            if not cases:
                break
            with transaction.atomic():
                for case in cases:
                    search_index_case(case=case)
            done += len(cases)
            last_id = cases[-1].pk
        self.stdout.write(f"Reindexed {done} case(s)")
