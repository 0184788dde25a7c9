"""The status answer for a permit, from the signed status lists a verifier holds (keys.statuslist).

Freshness: a list's age is the time since the newest TUF timestamp that vouched for it (`vouched_at`,
set by the cache from the last sync; the list's own iat only for a list added by hand). Within ttl (or
the caller's allowance) the list's word stands; past it a "valid" entry is reported STATUS_STALE, and so
is every "valid" entry once that timestamp itself has expired (a frozen source). Past the list's exp,
or with no list, the status is STATUS_UNKNOWN. A revocation seen in a stale list is still reported:
staleness never turns a "no" into a "yes".
"""

from __future__ import annotations

from keys.errors import Reason, StatusError
from keys.permit import Permit
from keys.statuslist import SignedStatusList, StatusListError, StatusValue
from keys.trustlist import TrustList
from verifier.check import StatusAnswer

VALUE_REASONS = {StatusValue.VALID: Reason.VALID, StatusValue.INVALID: Reason.REVOKED,
                 StatusValue.SUSPENDED: Reason.SUSPENDED, StatusValue.SUPERSEDED: Reason.SUPERSEDED}


class CachedStatus:
    """The status of permits from status lists held in memory (see verifier.cache for loading)."""

    def __init__(self, lists: dict[int, SignedStatusList], max_age: int | None = None) -> None:
        self.lists = lists
        self.max_age = max_age

    def status_of(self, permit: Permit, trust: TrustList, at: int) -> StatusAnswer:
        held = self.lists.get(permit.status_list)
        if held is None:
            raise StatusError(f"no status list {permit.status_list} held; sync the verifier")
        if at >= held.expires_at:
            raise StatusError(f"status list {permit.status_list} expired; sync the verifier")
        age = max(0, at - (held.issued_at if held.vouched_at is None else held.vouched_at))
        try:
            value = held.entries.get(permit.status_index)
        except StatusListError as exc:  # the draft: a reference outside the list MUST be rejected
            raise StatusError(str(exc), Reason.STATUS_INDEX_INVALID) from None
        reason = VALUE_REASONS[value]
        if reason is Reason.VALID and held.vouch_expires is not None and at >= held.vouch_expires:
            raise StatusError(f"the timestamp that last vouched for status list {permit.status_list} expired "
                              f"{at - held.vouch_expires} s ago: the source has stopped moving (a frozen mirror?) "
                              "or this verifier has not synced; sync from a live source", Reason.STATUS_STALE)
        allowed = held.ttl if self.max_age is None else self.max_age
        if reason is Reason.VALID and age > allowed:
            return StatusAnswer(Reason.STATUS_STALE, age, stale=True)
        return StatusAnswer(reason, age, stale=age > allowed)
