"""The translation catalogues are complete, well-formed, current with the code, and served.

- zh_Hans: every message translated, none fuzzy, placeholders kept.
- Extraction: every message marked in the code is in the committed catalogue (needs GNU gettext;
  skipped locally without it, a failure on CI, which installs it).
- Runtime: `compiletranslations` output is used, for gettext and for a real page.
"""

from __future__ import annotations

import gettext as gettext_module
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import translation

import afterdesk
from afterdesk.cases.choices import Kind, Priority, Status

SOURCE_DIR = Path(afterdesk.__file__).resolve().parent
LOCALE_DIR = SOURCE_DIR / "locale"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
EN_PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"

# What makemessages reads for the "django" domain, and the gettext tools it runs.
EXTRACTED_SUFFIXES = {".py", ".html", ".txt"}
GETTEXT_TOOLS = ("xgettext", "msguniq", "msgmerge", "msgattrib")

# printf-style placeholders as Python's % operator reads them, e.g. %s, %d, %(name)s, %%.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[a-zA-Z%])"
)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _key(entry: polib.POEntry) -> str:
    return f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid


def _live(po: polib.POFile) -> list[polib.POEntry]:
    return [e for e in po if not e.obsolete]


def _placeholders(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """(named placeholders, positional placeholders in order); %% is not a placeholder."""
    named: set[str] = set()
    positional: list[str] = []
    for match in PLACEHOLDER.finditer(text):
        if match["conv"] == "%":
            continue
        if match["name"] is not None:
            named.add(f"%({match['name']}){match['conv']}")
        else:
            positional.append(f"%{match['conv']}")
    return frozenset(named), tuple(positional)


def _show(msgids: list[str]) -> str:
    return "\n".join(f"  {m!r}" for m in msgids)


# --- The committed catalogues ---------------------------------------------------------------


@pytest.fixture(scope="module")
def zh_po() -> polib.POFile:
    assert ZH_PO.is_file(), f"{ZH_PO} is missing; run `make messages` and translate it"
    return polib.pofile(str(ZH_PO))


def test_zh_catalogue_header(zh_po: polib.POFile) -> None:
    assert not zh_po.metadata_is_fuzzy, "the zh_Hans header is marked fuzzy"
    assert zh_po.metadata.get("Language") == "zh_Hans"
    assert zh_po.metadata.get("Plural-Forms", "").startswith("nplurals=1;")
    assert "charset=UTF-8" in zh_po.metadata.get("Content-Type", "")


def test_zh_catalogue_is_fully_translated(zh_po: polib.POFile) -> None:
    entries = _live(zh_po)
    assert entries, "the zh_Hans catalogue has no messages"
    untranslated = [e.msgid for e in entries if not e.translated() and "fuzzy" not in e.flags]
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    problems = []
    if untranslated:
        problems.append(f"{len(untranslated)} untranslated message(s):\n" + _show(untranslated))
    if fuzzy:
        problems.append(f"{len(fuzzy)} fuzzy message(s) (review, drop the flag):\n" + _show(fuzzy))
    assert not problems, f"{ZH_PO}:\n" + "\n".join(problems)


def test_zh_catalogue_keeps_placeholders(zh_po: polib.POFile) -> None:
    broken: list[str] = []
    for entry in _live(zh_po):
        if entry.msgid_plural:
            source = _placeholders(entry.msgid_plural)
            targets = list(entry.msgstr_plural.values())
        else:
            source = _placeholders(entry.msgid)
            targets = [entry.msgstr]
        for target in targets:
            if _placeholders(target) != source:
                broken.append(f"{entry.msgid!r} -> {target!r}")
        python_format = bool(source[0] or source[1])
        if python_format and "python-format" not in entry.flags:
            broken.append(f"{entry.msgid!r} has placeholders but no python-format flag")
    assert not broken, "placeholders differ between msgid and msgstr:\n" + "\n".join(broken)


def test_en_catalogue_matches_zh(zh_po: polib.POFile) -> None:
    """English is the source language: an empty msgstr (or the msgid itself) is right."""
    assert EN_PO.is_file(), f"{EN_PO} is missing; run `make messages`"
    en_po = polib.pofile(str(EN_PO))
    en = {_key(e): e for e in _live(en_po)}
    zh = {_key(e) for e in _live(zh_po)}
    assert set(en) == zh, (
        "the en and zh_Hans catalogues hold different messages; run `make messages`:\n"
        + _show(sorted(set(en) ^ zh))
    )
    wrong = [k for k, e in en.items() if e.msgstr not in ("", e.msgid) or "fuzzy" in e.flags]
    assert not wrong, "en msgstrs must be empty or equal to the msgid:\n" + _show(wrong)


# --- The catalogue is current with the code -------------------------------------------------


def _gettext_missing() -> list[str]:
    return [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]


def _copy_sources(destination: Path) -> None:
    """The files makemessages reads, without the committed catalogues."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            path = Path(directory) / name
            if path.is_dir():
                if name in {"locale", "__pycache__"} or name.startswith("."):
                    skipped.add(name)
            elif path.suffix not in EXTRACTED_SUFFIXES:
                skipped.add(name)
        return skipped

    shutil.copytree(SOURCE_DIR, destination, ignore=ignore)


def test_catalogue_covers_every_marked_message(zh_po: polib.POFile, tmp_path: Path) -> None:
    missing_tools = _gettext_missing()
    if missing_tools:
        message = (
            f"GNU gettext is not installed (missing: {', '.join(missing_tools)}); "
            "cannot check that the catalogue is current (apt-get install gettext)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)

    tree = tmp_path / "afterdesk"
    _copy_sources(tree)
    (tree / "locale").mkdir()
    # Without settings, makemessages writes to ./locale only; with them it would also use
    # LOCALE_PATHS, i.e. the committed catalogues.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--no-location"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"

    extracted_po = tree / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    extracted = {_key(e) for e in _live(polib.pofile(str(extracted_po))) if e.msgid}
    committed = {_key(e) for e in _live(zh_po)}
    missing = sorted(extracted - committed)
    assert not missing, (
        f"{len(missing)} message(s) marked for translation in the code are not in {ZH_PO}; "
        "run `make messages` and translate them:\n" + _show(missing)
    )


# --- The compiled catalogues are used -------------------------------------------------------


@pytest.fixture(scope="module")
def compiled() -> Iterator[None]:
    """Compile the catalogues, then make Django reload them (it caches loaded catalogues)."""
    call_command("compiletranslations")
    assert (ZH_PO.with_suffix(".mo")).is_file()
    # The gettext module caches parsed .mo files by path for the life of the process: drop
    # what an earlier test may have loaded before this compile.
    for key in [k for k in gettext_module._translations if str(LOCALE_DIR) in str(k[1])]:
        del gettext_module._translations[key]
    # Changing LOCALE_PATHS (even to the same value) drops Django's translation caches.
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


@pytest.mark.usefixtures("compiled")
def test_gettext_uses_the_chinese_catalogue() -> None:
    with translation.override("zh-hans"):
        track = translation.gettext("Track a case")
        resolved = str(Status.RESOLVED.label)
        labels = [str(Kind.COMPLAINT.label), str(Priority.URGENT.label), str(Status.OPEN.label)]
    assert track != "Track a case" and CJK.search(track), track
    assert resolved != "Resolved" and CJK.search(resolved), resolved
    assert all(CJK.search(label) for label in labels), labels
    with translation.override("en"):
        assert translation.gettext("Track a case") == "Track a case"
        assert str(Status.RESOLVED.label) == "Resolved"


def _zh(msgid: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


@pytest.mark.django_db
@pytest.mark.usefixtures("compiled")
def test_track_page_in_chinese() -> None:
    response = Client().get("/track", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert response.status_code == 200
    html = response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    assert 'lang="zh-hans"' in html
    for msgid in ("Track a case", "Service number", "E-mail or phone", "Show status"):
        translated = _zh(msgid)
        assert CJK.search(translated), f"{msgid!r} is not translated: {translated!r}"
        assert translated in html, f"{translated!r} ({msgid!r}) not on the page"
        assert msgid not in html, f"{msgid!r} is on the page in English"


@pytest.mark.django_db
@pytest.mark.usefixtures("compiled")
def test_track_page_in_english() -> None:
    response = Client().get("/track", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="en"' in html
    assert "Track a case" in html and "Service number" in html
    assert _zh("Track a case") not in html


@pytest.mark.django_db
@pytest.mark.usefixtures("compiled")
def test_tracked_case_shows_chinese_labels(customer_a: Any, make_case: Any) -> None:
    from afterdesk.cases.services import case_transition

    case = make_case(customer=customer_a, kind=Kind.REPAIR)
    case_transition(actor=None, case=case, to=Status.OPEN)
    cache.clear()  # the tracking rate limit counts per client address
    response = Client().post(
        "/track",
        {"number": case.number, "contact": customer_a.email},
        HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9",
    )
    assert response.status_code == 200, response.content.decode()[:500]
    html = response.content.decode()
    assert case.number in html
    for msgid in ("Open", "Repair", "Request received", "opened"):
        translated = _zh(msgid)
        assert CJK.search(translated), f"{msgid!r} is not translated: {translated!r}"
        assert translated in html, f"{translated!r} ({msgid!r}) not on the page"
