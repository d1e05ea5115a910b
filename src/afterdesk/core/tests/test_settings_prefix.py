"""CASE_NUMBER_PREFIX is checked when the settings load: numbers are found upper-cased."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _load_settings(prefix: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CASE_NUMBER_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-c", "import afterdesk.settings as s; print(s.CASE_NUMBER_PREFIX)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("prefix", ["as", "Rx", "A-S", "ABCDEFGHIJK"])
def test_a_prefix_that_is_not_upper_case_letters_or_digits_is_refused(prefix: str) -> None:
    result = _load_settings(prefix)
    assert result.returncode != 0
    assert "CASE_NUMBER_PREFIX must be 1-10 upper-case letters or digits" in result.stderr


def test_an_upper_case_prefix_loads() -> None:
    result = _load_settings("RMA2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "RMA2"
