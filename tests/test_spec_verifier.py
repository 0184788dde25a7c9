"""The conformance kit through a verifier written from docs/format.md alone (tests/interop/spec-verifier,
JavaScript on Node.js, sharing no code with ours): every permit, trust-list and status-list vector gives
the kit's expected verdict, reason and decoded fields there too."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KIT = ROOT / "docs" / "test-vectors"


def test_the_kit_passes_in_a_verifier_written_from_the_spec_alone() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: scripts/setup installs Debian's nodejs")
    manifest = json.loads((KIT / "vectors.json").read_text())
    total = sum(len(manifest[k]) for k in ("permit_vectors", "trust_list_vectors", "status_list_vectors"))
    proc = subprocess.run([node, str(ROOT / "tests" / "interop" / "spec-verifier" / "run-kit.mjs"), str(KIT)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == f"{total}/{total} vectors pass"
