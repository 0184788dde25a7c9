"""The quick variant of scripts/fuzz.py: a few thousand mutated inputs through every decoder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import fuzz


def test_quick_fuzz_finds_no_foreign_exception(capsys) -> None:
    assert fuzz.main(["--inputs", "5000", "--seconds", "60", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "fuzzed 5,000 inputs" in out and "crashes (exceptions other than the project's own): 0" in out
