"""The pure part of triage: facts about a case, compiled rules, urgency words, routing.

Nothing here touches the database: the hook (`triage.hooks`) builds the facts from the case
and the cached configuration (`triage.cache`) and writes what the engine decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from afterdesk.triage.choices import VipMatch

# Words of the documents' urgent class (R6): account stolen, outage, safety hazard.
DEFAULT_URGENT_WORDS = (
    "账号被盗\n被盗号\n盗刷\n无法登录\n登录不了\n冒烟\n起火\n着火\n爆炸\n漏电\n触电\n烧焦\n"
    "服务中断\n系统崩溃\naccount stolen\naccount hacked\nhacked\ncan't log in\ncannot log in\n"
    "unable to log in\nsmoke\nsmoking\nfire\ncaught fire\nsparks\nelectric shock\nexplod\n"
    "burning smell\noutage\nservice down\nfraudulent charge"
)
# Strongly negative wording: two or more of these grade a case urgent too.
DEFAULT_NEGATIVE_WORDS = (
    "投诉到底\n欺诈\n骗子\n太差\n垃圾\n气死\n忍无可忍\n曝光\n315\n消协\n律师\n起诉\n报警\n"
    "scam\nfraud\ndisgusting\noutrageous\nunacceptable\nworst\nlawyer\nsue\nfurious\nridiculous"
)


@dataclass(frozen=True)
class Facts:
    """What rules may look at, taken from the case as it was opened."""

    kind: str
    channel: str
    subject: str
    body: str
    segment: str = ""
    vip: bool = False
    amount: Decimal | None = None
    product_line: str = ""
    language: str = ""

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"


@dataclass(frozen=True)
class Actions:
    """What one rule does when it matches. Ids refer to cached rows; codes are for events."""

    category: str = ""
    priority: str = ""
    department: str = ""
    tags: tuple[str, ...] = ()
    complex: bool = False
    assign_to: str = ""
    assign_team: str = ""

    def changes(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.category:
            out["category"] = self.category
        if self.priority:
            out["priority"] = self.priority
        if self.department:
            out["department"] = self.department
        if self.tags:
            out["tags"] = list(self.tags)
        if self.complex:
            out["is_complex"] = True
        if self.assign_to:
            out["owner"] = self.assign_to
        if self.assign_team:
            out["team"] = self.assign_team
        return out


@dataclass(frozen=True)
class CompiledRule:
    id: int
    name: str
    kinds: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    keywords: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    segments: frozenset[str] = frozenset()
    vip: str = VipMatch.ANY
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    product_lines: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    actions: Actions = field(default_factory=Actions)
    overrides_caller: bool = False
    stop: bool = False

    @property
    def needs_product_line(self) -> bool:
        return bool(self.product_lines)

    def matches(self, facts: Facts, lowered: str) -> bool:
        """Every filled-in condition holds. `lowered` is facts.text in lower case."""
        if self.kinds and facts.kind not in self.kinds:
            return False
        if self.channels and facts.channel not in self.channels:
            return False
        if self.keywords and not any(word in lowered for word in self.keywords):
            return False
        if self.pattern is not None and self.pattern.search(facts.text) is None:
            return False
        if self.segments and facts.segment not in self.segments:
            return False
        if self.vip == VipMatch.VIP and not facts.vip:
            return False
        if self.vip == VipMatch.REGULAR and facts.vip:
            return False
        if self.amount_min is not None and (facts.amount is None or facts.amount < self.amount_min):
            return False
        if self.amount_max is not None and (facts.amount is None or facts.amount > self.amount_max):
            return False
        if self.product_lines and facts.product_line not in self.product_lines:
            return False
        return not (self.languages and facts.language not in self.languages)


@dataclass(frozen=True)
class RuleHit:
    rule: CompiledRule
    # The changes the rule actually made (caller-given values may have kept theirs).
    applied: dict[str, object]


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a rule's regular expression, case-insensitive; raises re.error if invalid."""
    return re.compile(pattern, re.IGNORECASE)


def rules_evaluate(rules: list[CompiledRule], facts: Facts) -> list[CompiledRule]:
    """The rules that match, in order, up to and including the first matching `stop` rule."""
    lowered = facts.text.lower()
    matched: list[CompiledRule] = []
    for rule in rules:
        if rule.matches(facts, lowered):
            matched.append(rule)
            if rule.stop:
                break
    return matched


@dataclass(frozen=True)
class Urgency:
    urgent: bool
    # The words that triggered it, as written in the configuration.
    words: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()


def word_list(text: str) -> tuple[str, ...]:
    """One entry per non-empty line, lower-cased, duplicates removed, order kept."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        word = line.strip().lower()
        if word:
            seen.setdefault(word, None)
    return tuple(seen)


def _contains(lowered: str, word: str) -> bool:
    """Substring match for Chinese; for Latin words, the word must start at a word boundary
    (so "fire" does not fire on "firmware", while "explod" still finds "exploded")."""
    if not word.isascii():
        return word in lowered
    start = lowered.find(word)
    while start != -1:
        if start == 0 or not lowered[start - 1].isalnum():
            return True
        start = lowered.find(word, start + 1)
    return False


def urgency_detect(
    text: str, *, urgent_words: tuple[str, ...], negative_words: tuple[str, ...], negative_min: int
) -> Urgency:
    """Urgent when any urgent word occurs, or at least `negative_min` strongly negative ones."""
    lowered = text.lower()
    words = tuple(w for w in urgent_words if _contains(lowered, w))
    negative = tuple(w for w in negative_words if _contains(lowered, w))
    return Urgency(
        urgent=bool(words) or len(negative) >= max(1, negative_min),
        words=words,
        negative=negative,
    )


@dataclass(frozen=True)
class RouteRow:
    kind: str
    # The category code, or "" for any.
    category: str
    department: str


def route_find(routes: list[RouteRow], *, kind: str, category: str) -> RouteRow | None:
    """The first route matching both kind and category, else the first matching one of them.

    A top-level category code matches its subcategories ("product" matches "product.doa").
    """

    def category_matches(row: RouteRow) -> bool:
        return bool(category) and (
            row.category == category or category.startswith(row.category + ".")
        )

    for row in routes:
        if row.kind and row.category and row.kind == kind and category_matches(row):
            return row
    for row in routes:
        if row.kind and not row.category and row.kind == kind:
            return row
        if row.category and not row.kind and category_matches(row):
            return row
    return None


@dataclass(frozen=True)
class ShiftSpan:
    weekday: int
    start: time
    end: time

    def covers(self, local: datetime) -> bool:
        """Whether the local moment falls in this shift; a shift ending before it starts runs
        into the next day, so Monday 22:00-06:00 covers Tuesday 03:00."""
        moment = local.time()
        day = local.weekday()
        if self.start < self.end:
            return day == self.weekday and self.start <= moment < self.end
        if day == self.weekday and moment >= self.start:
            return True
        return day == (self.weekday + 1) % 7 and moment < self.end


def on_shift(shifts: tuple[ShiftSpan, ...], local: datetime) -> bool:
    """Agents without any shift are always on; others only inside one of their shifts."""
    return not shifts or any(s.covers(local) for s in shifts)
