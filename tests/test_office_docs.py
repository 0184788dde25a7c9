"""docs/registry.md's state machine and its tables of grounds, bars, four-eyes acts, roles and deadlines are
generated from the code's own tables (registry/lifecycle.py, registry/office/). This test fails when the
document drifts; `REGISTRY_DOCS_WRITE=1 pytest tests/test_office_docs.py` rewrites the generated parts."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from registry import lifecycle
from registry.office.deadlines import APPEAL_RULES
from registry.office.policy import (
    DEFAULT_FOUR_EYES,
    DEFAULT_POLICY,
    FOUR_EYES_ACTS,
    GROUNDS,
    RESIDENCE_SOURCE,
    Residence,
)
from registry.office.service import ALONE, INITIATE

DOC = Path(__file__).resolve().parent.parent / "docs" / "registry.md"


def _roles(roles: frozenset) -> str:
    return ", ".join(r.value for r in sorted(roles, key=lambda r: ("clerk", "officer", "admin").index(r.value)))


def state_machine() -> str:
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> active: issue"]
    for action, moves in lifecycle.TRANSITIONS.items():
        for before, after in moves.items():
            lines.append(f"    {before} --> {after}: {action}")
    lines += ["```", "", "| action | from | to | status value of the current card |", "|---|---|---|---|"]
    for action, moves in lifecycle.TRANSITIONS.items():
        targets = sorted(set(moves.values()))
        value = ("old card 3, new card keeps the value" if action == "reissue" else
                 "old card 3, new card 0" if action in ("renew", "replace") else
                 ", ".join(str(lifecycle.STATUS_VALUE[t]) for t in targets))
        lines.append(f"| `{action}` | {', '.join(moves)} | {', '.join(targets)} | {value} |")
    return "\n".join(lines)


def grounds() -> str:
    lines = ["| ground | meaning | bar on a new application (default) | source and assumption |", "|---|---|---|---|"]
    for key, g in GROUNDS.items():
        bar = "none" if g.bar_years == 0 else f"{g.bar_years} year{'s' if g.bar_years > 1 else ''}"
        lines.append(f"| `{key}` | {g.description} | {bar} | {g.source} |")
    return "\n".join(lines)


def four_eyes() -> str:
    lines = ["| act | under four eyes by default | who may start it | who may complete it alone (no four eyes) |",
             "|---|---|---|---|"]
    for act, what in FOUR_EYES_ACTS.items():
        lines.append(f"| `{act}`: {what} | {'yes' if act in DEFAULT_FOUR_EYES else 'no'} | {_roles(INITIATE[act])} "
                     f"| {_roles(ALONE[act])} |")
    for act in ("appeal", "presence", "expire", "reissue"):
        lines.append(f"| `{act}` | never | {_roles(INITIATE[act])} | {_roles(ALONE[act])} |")
    return "\n".join(lines)


def deadlines() -> str:
    lines = ["| appeal | filing window | source | decision due | source |", "|---|---|---|---|---|"]
    for kind, rule in APPEAL_RULES.items():
        window = f"{rule.window} after the decision"
        source = rule.window_source
        if rule.after_reconsideration is not None:
            window += f"; {rule.after_reconsideration} after an upheld reconsideration's decision"
            source += "; " + rule.after_reconsideration_source
        lines.append(f"| {kind} | {window} | {source} | {rule.due} after filing | {rule.due_source} |")
    return "\n".join(lines)


def policy() -> str:
    return "```json\n" + json.dumps({"office": DEFAULT_POLICY.to_json()}, indent=2) + "\n```"


def residence() -> str:
    r = Residence()
    return (f"Default rule: at least **{r.min_days} days** present in each of the last **{r.years}** full calendar "
            f"years covered by the current card. Source: {RESIDENCE_SOURCE}.")


SECTIONS = {"state-machine": state_machine, "policy": policy, "grounds": grounds, "four-eyes": four_eyes,
            "deadlines": deadlines, "residence": residence}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated:{name} -->\n)(.*?)(\n<!-- end:{name} -->)", re.DOTALL)


@pytest.mark.parametrize("name", SECTIONS)
def test_docs_tables_are_generated_from_the_code(name: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    found = _pattern(name).search(text)
    assert found, f"docs/registry.md has no <!-- generated:{name} --> ... <!-- end:{name} --> block"
    wanted = SECTIONS[name]()
    if os.environ.get("REGISTRY_DOCS_WRITE") == "1" and found.group(2) != wanted:
        DOC.write_text(_pattern(name).sub(lambda m: m.group(1) + wanted + m.group(3), text), encoding="utf-8")
        return
    assert found.group(2) == wanted, f"docs/registry.md's {name} drifted from the code: run with REGISTRY_DOCS_WRITE=1"
