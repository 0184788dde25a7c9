"""What a verifier holds, for people and monitors: `verifier status --json` and the service's /health.

Times are ISO 8601 (UTC); a status list's age is in seconds since the newest TUF timestamp that vouched
for it (the list's own iat for a list added by hand without a sync).
"""

from __future__ import annotations

from typing import Any

from tuf.api.serialization import DeserializationError

from keys.errors import PermitError
from keys.statuslist import SignedStatusList
from keys.times import iso
from keys.trustlist import TrustList
from verifier.cache import Cache, epoch


def holdings(cache: Cache, at: int, loaded: tuple[TrustList | None, dict[int, SignedStatusList]] | None = None,
             ) -> dict[str, Any]:
    """root_version, trust_list_version, last_sync, timestamp_expires (and whether it has passed) and,
    per status list, its id, age_seconds, issued_at and expires_at. `loaded`: the trust list and status
    lists a server already holds in memory (else they are read and verified from the cache)."""
    state = cache.sync_state() or {}
    try:
        root = cache.tuf_root()
    except (OSError, ValueError, DeserializationError):
        root = None
    if loaded is not None:
        trust, lists = loaded
    else:
        try:
            trust = cache.trust_list()
        except PermitError:
            trust = None
        lists = cache.status_lists(trust) if trust is not None else {}
    expires = state.get("timestamp_expires")
    return {
        "root_version": root.signed.version if root is not None else state.get("root_version"),  # type: ignore[attr-defined]
        "trust_list_version": trust.version if trust is not None else None,
        "trust_list_expires": iso(trust.expires_at) if trust is not None else None,
        "last_sync": state.get("last_sync"),
        "timestamp_version": state.get("timestamp_version"),
        "timestamp_issued": state.get("timestamp_issued"),
        "timestamp_expires": expires,
        "timestamp_expired": (at >= epoch(expires)) if expires else None,
        "status_lists": [
            {
                "id": list_id,
                "age_seconds": max(0, at - (held.issued_at if held.vouched_at is None else held.vouched_at)),
                "issued_at": iso(held.issued_at),
                "expires_at": iso(held.expires_at),
            }
            for list_id, held in sorted(lists.items())
        ],
    }
