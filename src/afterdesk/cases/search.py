"""Full-text search over cases that works for Chinese and English on SQLite and PostgreSQL.

Text is turned into tokens in Python, the same way for indexing and for queries:
- runs of CJK characters become overlapping character bigrams ("退款申请" → 退款 款申 申请), so
  any word of two or more characters is found without a segmentation dictionary, and a single
  character is found as a token prefix;
- everything else becomes lower-cased words ("Refund", "REFUND" → refund; "JD-2026-1188" →
  jd 2026 1188).
The tokens are stored space-separated in CaseSearch.tokens (one row per case: number, subject,
description, messages, customer name and contacts, order reference). SQLite indexes them with
an FTS5 table kept in sync by triggers; PostgreSQL with a GIN index over
to_tsvector('simple', tokens). A query matches when each of its words occurs as a phrase of
consecutive tokens.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import connection
from django.db.models import F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from afterdesk.cases.models import Case, CaseSearch

_CJK = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK compatibility ideographs
)
_PIECES = re.compile(rf"[{_CJK}]+|[^\W{_CJK}_]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
MAX_DOCUMENT_CHARS = 200_000
MAX_QUERY_WORDS = 8


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def tokens_of(text: str) -> list[str]:
    """Index tokens of `text`: CJK bigrams and lower-cased words."""
    out: list[str] = []
    for piece in _PIECES.findall(_normalise(text)):
        if _CJK_RUN.match(piece):
            if len(piece) == 1:
                out.append(piece)
            else:
                out.extend(piece[i : i + 2] for i in range(len(piece) - 1))
        else:
            out.append(piece)
    return out


def document_of(*parts: str) -> str:
    return " ".join(tokens_of(" \n ".join(p for p in parts if p)))[:MAX_DOCUMENT_CHARS]


def document_with(head: str, rest: str) -> str:
    """`document_of(a, *b)` from `document_of(a)` and `document_of(*b)`: parts are tokenised
    apart, so a document can be made in two steps (case creation knows the number last)."""
    return " ".join(d for d in (head, rest) if d)[:MAX_DOCUMENT_CHARS]


def _query_words(query: str) -> list[list[str]]:
    """The query as words, each word a phrase of tokens; at most MAX_QUERY_WORDS words."""
    words = []
    for piece in _PIECES.findall(_normalise(query))[:MAX_QUERY_WORDS]:
        words.append(tokens_of(piece))
    return [w for w in words if w]


def _fts5_match(words: list[list[str]]) -> str:
    parts = []
    for phrase in words:
        if len(phrase) == 1 and len(phrase[0]) == 1 and _CJK_RUN.match(phrase[0]):
            parts.append(f'"{phrase[0]}"*')  # one CJK character: any bigram starting with it
        else:
            parts.append('"' + " ".join(phrase) + '"')
    return " AND ".join(parts)


def _tsquery(words: list[list[str]]) -> str:
    parts = []
    for phrase in words:
        if len(phrase) == 1 and len(phrase[0]) == 1 and _CJK_RUN.match(phrase[0]):
            parts.append(f"{phrase[0]}:*")
        else:
            parts.append("(" + " <-> ".join(phrase) + ")")
    return " & ".join(parts)


def search_filter(query: str) -> Q | None:
    """A filter on Case for the full-text `query`, or None when it has no searchable words.

    Tokens contain only letters and digits, so nothing of the user's input reaches the match
    syntax except as quoted terms.
    """
    words = _query_words(query)
    if not words:
        return None
    if connection.vendor == "postgresql":
        sql = (
            "SELECT case_id FROM cases_casesearch "
            "WHERE to_tsvector('simple', tokens) @@ to_tsquery('simple', %s)"
        )
        # A constant statement; the user's words travel only as a bound parameter.
        return Q(pk__in=RawSQL(sql, [_tsquery(words)]))  # noqa: S611
    sql = "SELECT rowid FROM cases_casesearch_fts WHERE cases_casesearch_fts MATCH %s"
    return Q(pk__in=RawSQL(sql, [_fts5_match(words)]))  # noqa: S611


def search_index_case(*, case: Case) -> None:
    """(Re)build the search document of `case` from its fields, messages and customer."""
    customer = case.customer
    bodies = list(case.messages.values_list("body", flat=True).order_by("id"))
    document = document_of(
        case.number,
        case.subject,
        case.description,
        case.order_ref,
        case.product_sku,
        case.serial,
        customer.name,
        customer.email,
        customer.phone,
        *bodies,
    )
    CaseSearch.objects.update_or_create(case=case, defaults={"tokens": document})


def search_append(*, case: Case, text: str) -> None:
    """Add the tokens of new text (a message) to the case's search document."""
    extra = document_of(text)
    if not extra:
        return
    updated = CaseSearch.objects.filter(case=case).update(
        tokens=Concat(F("tokens"), Value(" " + extra))
    )
    if not updated:
        search_index_case(case=case)
