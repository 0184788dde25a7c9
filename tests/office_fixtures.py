"""A registry home's office at library level, with a clock the test moves and the four operators of
office_adapters.ROLES enrolled."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from conftest import REGISTRY_PASSPHRASE
from office_adapters import APPLICANT, ROLES

from registry.home import Home
from registry.office.operators import Operator, add_operator
from registry.office.service import Office
from registry.office.setup import office_for
from registry.store import open_store
from registry.validation import Application, validate_application


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


@dataclass
class Desk:
    office: Office
    ops: dict[str, Operator]
    tokens: dict[str, str]
    clock: Clock
    home: Path

    def app(self, **changes: str) -> Application:
        return validate_application({**APPLICANT, **changes}, self.clock.t)

    def issued(self, **changes: str) -> str:
        """Issue through four eyes: the clerk proposes, the officer approves."""
        pending = self.office.issue(self.ops["clerk"], self.app(**changes))
        return self.office.approve(self.ops["officer"], pending.proposal).number  # type: ignore[arg-type,return-value]

    def both(self, who: str, approver: str, outcome: object) -> object:
        return self.office.approve(self.ops[approver], outcome.proposal)  # type: ignore[attr-defined]


def make_desk(home: Path, t: int, policy: dict | None = None) -> Desk:
    if policy is not None:
        config = json.loads((home / "config.json").read_text())
        config["office"] = policy
        (home / "config.json").write_text(json.dumps(config))
    clock = Clock(t)
    db = open_store(home / "registry.db")
    ops, tokens = {}, {}
    for role, (name, kind, person) in ROLES.items():
        ops[role], tokens[role] = add_operator(db, name, kind, person, t, ops.get("admin"))
    h = Home(home, lambda: REGISTRY_PASSPHRASE.encode())
    return Desk(office_for(h, db, clock), ops, tokens, clock, home)
