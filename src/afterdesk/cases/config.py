"""Categories and departments as case writes read them: cached per process (see
`afterdesk.core.configcache`), so opening a case costs no query for them."""

from __future__ import annotations

from dataclasses import dataclass

from afterdesk.accounts.models import Department
from afterdesk.cases.models import Category
from afterdesk.core.configcache import ConfigCache


@dataclass(frozen=True)
class Taxonomy:
    categories: dict[str, Category]  # active ones by code, each with its parent loaded
    departments: dict[str, Department]  # active ones by code, in position order


def _load() -> Taxonomy:
    return Taxonomy(
        categories={
            c.code: c for c in Category.objects.filter(is_active=True).select_related("parent")
        },
        departments={d.code: d for d in Department.objects.filter(is_active=True)},
    )


_taxonomy = ConfigCache("taxonomy", _load, models=(Category, Department))


def taxonomy() -> Taxonomy:
    return _taxonomy.get()


def category_codes(category_id: int | None) -> frozenset[str]:
    """The code of a category and of its parent, e.g. {"product", "product/doa"}."""
    if category_id is None:
        return frozenset()
    for category in taxonomy().categories.values():
        if category.pk == category_id:
            codes = {category.code}
            if category.parent is not None:
                codes.add(category.parent.code)
            return frozenset(codes)
    return frozenset()
