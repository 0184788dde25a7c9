"""Each act the office carries out, as a check (may it happen now?) and a run (do it, inside the write
transaction). The service calls `check` when an act is proposed and `run` when it is done or approved, so
a proposal approved later is checked again against the register as it is then.

Parameters are JSON-ready dicts (they are stored with a proposal until it is approved).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlite_utils

from registry import lifecycle
from registry.issuance import issue_in_transaction
from registry.office import identity, residence
from registry.office.errors import CONFLICT, OfficeError
from registry.office.record import Acting, record_event
from registry.store import one
from registry.validation import Application

if TYPE_CHECKING:
    from registry.office.service import Office

Params = dict[str, Any]


def application_params(app: Application) -> Params:
    data = dataclasses.asdict(app)
    data["birth_date"] = app.birth_date.isoformat()
    data["photo"] = base64.b64encode(app.photo).decode() if app.photo else None
    return data


def application_from(params: Mapping[str, Any]) -> Application:
    data = dict(params)
    data["birth_date"] = date.fromisoformat(data["birth_date"])
    data["photo"] = base64.b64decode(data["photo"]) if data.get("photo") else None
    return Application(**data)


def changes_params(changes: Mapping[str, object]) -> Params:
    return {k: base64.b64encode(v).decode() if k == "photo" and isinstance(v, bytes) else v
            for k, v in changes.items()}


def changes_from(params: Mapping[str, Any]) -> dict[str, object]:
    return {k: base64.b64decode(v) if k == "photo" and v else v for k, v in params.items()}


REF_DONE = "ref-issued"  # the application's reference was issued or waits already: a batch counts it as done


# ---- issue -------------------------------------------------------------------------------------------------

def check_application(office: Office, app: Application, now: int, proposal: int | None = None) -> None:
    db = office.db
    if app.ref and one(db, "SELECT number FROM permits WHERE applicant_key = ?", ("ref:" + app.ref,)):
        raise OfficeError(REF_DONE, f"reference {app.ref} was already issued a permit; nothing was changed")
    if app.ref and one(db, "SELECT id FROM proposals WHERE state = 'pending' AND ref = ? AND id != ?",
                       (app.ref, proposal or 0)):
        raise OfficeError(REF_DONE, f"reference {app.ref} already waits for approval; nothing was changed")
    identity.check_person(db, app.passport_country, app.passport_number, now, pending_ok=proposal)


def issue_application(office: Office, app: Application, acting: Acting, now: int) -> Params:
    check_application(office, app, now, acting.proposal_id)
    number = issue_in_transaction(office.db, app, office.signing(), now, acting)
    return {"number": number, "state": lifecycle.ACTIVE, "card": 1}


def check_issue(office: Office, p: Params, now: int, proposal: int | None = None) -> None:
    check_application(office, application_from(p["application"]), now, proposal)


def run_issue(office: Office, p: Params, acting: Acting, now: int) -> Params:
    return issue_application(office, application_from(p["application"]), acting, now)


# ---- status transitions ------------------------------------------------------------------------------------

def check_transition(office: Office, p: Params, now: int, proposal: int | None = None) -> None:
    permit = lifecycle.get_permit(office.db, p["number"])
    lifecycle.check(office.db, permit, p["action"], now)
    if p["action"] == "reinstate":
        _no_other_live(office.db, permit)


def _no_other_live(db: sqlite_utils.Database, permit: Mapping[str, Any]) -> None:
    """A reinstated permit must not make a second live permit for its holder."""
    if not permit.get("passport_number"):
        return
    live = identity.live_permit(db, permit["passport_country"], permit["passport_number"], permit["number"])
    if live:
        raise OfficeError("duplicate-person", f"the holder of permit {permit['number']} now holds permit "
                                              f"{live['number']} ({live['state']}): one person, one active permit; "
                                              "nothing was changed", CONFLICT)


def run_transition(office: Office, p: Params, acting: Acting, now: int) -> Params:
    check_transition(office, p, now)
    db, action = office.db, p["action"]
    detail = None
    if action == "revoke":
        permit = lifecycle.get_permit(db, p["number"])
        until = identity.add_bar(db, permit, p["reason"], office.policy.bar_years[p["reason"]], now)
        detail = {"bar_until": until} if until else None
    state = lifecycle.transition(db, p["number"], action, now, acting, p.get("reason"), detail)
    return {"number": p["number"].upper(), "state": state}


# ---- cards -------------------------------------------------------------------------------------------------

def check_renew(office: Office, p: Params, now: int, proposal: int | None = None) -> None:
    permit = lifecycle.get_permit(office.db, p["number"])
    lifecycle.check(office.db, permit, "renew", now)
    _no_other_live(office.db, permit)
    if not p.get("override"):
        residence.require(office.db, permit["number"], office.policy.residence, now)


def run_renew(office: Office, p: Params, acting: Acting, now: int) -> Params:
    check_renew(office, p, now)
    found = residence.years_checked(office.db, p["number"].upper(), office.policy.residence, now)
    detail: Params = {"residence": found} if found else {}
    if p.get("override"):
        detail["residence_override"] = p["override"]
    serial = lifecycle.renew(office.db, p["number"], now, acting, office.signing(), detail or None)
    return {"number": p["number"].upper(), "state": lifecycle.ACTIVE, "card": serial}


def check_replace(office: Office, p: Params, now: int, proposal: int | None = None) -> None:
    lifecycle.check_replacement(p["why"], p["changes"])
    lifecycle.check(office.db, lifecycle.get_permit(office.db, p["number"]), "replace", now)


def run_replace(office: Office, p: Params, acting: Acting, now: int) -> Params:
    serial = lifecycle.replace(office.db, p["number"], p["why"], changes_from(p["changes"]), now, acting,
                               office.signing())
    return {"number": p["number"].upper(), "state": lifecycle.ACTIVE, "card": serial}


# ---- passport ----------------------------------------------------------------------------------------------

def check_passport(office: Office, p: Params, now: int, proposal: int | None = None) -> None:
    db = office.db
    permit = lifecycle.get_permit(db, p["number"])
    if permit["state"] not in identity.LIVE_STATES:
        raise OfficeError("not-live", f"permit {permit['number']} is {permit['state']}: its holder's passport is no "
                                      "longer recorded anew")
    if (permit["passport_country"], permit["passport_number"]) == (p["passport_country"], p["passport_number"]):
        raise OfficeError("no-change", f"permit {permit['number']} already records that passport")
    identity.check_person(db, p["passport_country"], p["passport_number"], now, exclude=permit["number"])


def run_passport(office: Office, p: Params, acting: Acting, now: int) -> Params:
    check_passport(office, p, now)
    db = office.db
    permit = lifecycle.get_permit(db, p["number"])
    db.execute("UPDATE permits SET passport_country = ?, passport_number = ? WHERE number = ?",
               (p["passport_country"], p["passport_number"], permit["number"]))
    record_event(db, acting.event("passport-change", now, number=permit["number"], from_state=permit["state"],
                                  to_state=permit["state"],
                                  detail={"old": f"{permit['passport_country']}:{permit['passport_number']}",
                                          "new": f"{p['passport_country']}:{p['passport_number']}"}))
    return {"number": permit["number"], "state": permit["state"]}


@dataclass(frozen=True)
class ActKind:
    check: Callable[..., None]
    run: Callable[[Office, Params, Acting, int], Params]


def _appeal_decide() -> ActKind:
    from registry.office import appeals

    return ActKind(appeals.check_decide, appeals.run_decide)


ACTS: dict[str, Callable[[], ActKind]] = {
    "issue": lambda: ActKind(check_issue, run_issue),
    "transition": lambda: ActKind(check_transition, run_transition),
    "renew": lambda: ActKind(check_renew, run_renew),
    "replace": lambda: ActKind(check_replace, run_replace),
    "passport-change": lambda: ActKind(check_passport, run_passport),
    "appeal-decide": _appeal_decide,
}
