"""`verifier log monitor SOURCE`: re-derive every status list from the log's leaves and report any status
bit the office published without a logged act behind it.

The leaves give, for each card, its status list and index (card leaves) and every value set on it
(transition leaves; a card that supersedes another sets the old one to 3). Replaying the leaves up to a
status list's issue time gives what that list must say; each entry where the published list (as this
verifier holds it, signature checked) says otherwise is reported: a revocation, suspension or
reinstatement made off the record, or a card that is not in the log at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from keys.statuslist import SignedStatusList, StatusValue
from keys.tlog.leaves import CardLeaf, Leaf, TransitionLeaf, decode_leaf
from verifier.logclient import log_fetch, read_entries, update_checkpoint

SUPERSEDED, SUSPENDED, VALID = StatusValue.SUPERSEDED, StatusValue.SUSPENDED, StatusValue.VALID


@dataclass(frozen=True)
class Finding:
    list_id: int
    index: int
    published: int
    logged: int

    def text(self) -> str:
        return (f"status list {self.list_id} index {self.index}: published {self.published}, the log says "
                f"{self.logged}" + (" (no logged card)" if self.logged == -1 else ""))


def expected_values(leaves: list[Leaf], until: int) -> dict[tuple[int, int], int]:
    """(list, index) -> the value the logged acts up to `until` set."""
    where: dict[bytes, tuple[int, int]] = {}
    values: dict[tuple[int, int], int] = {}
    for leaf in leaves:
        if leaf.time > until:
            break
        if isinstance(leaf, CardLeaf) and leaf.subject is not None:
            entry = (leaf.status_list, leaf.status_index)
            old = where.get(leaf.supersedes) if leaf.supersedes is not None else None
            values[entry] = SUSPENDED if old is not None and values.get(old) == SUSPENDED else VALID
            if old is not None:
                values[old] = SUPERSEDED
            where[leaf.subject] = entry
        elif isinstance(leaf, TransitionLeaf) and leaf.status is not None and leaf.subject in where:
            values[where[leaf.subject]] = leaf.status
    return values


def monitor(source: str, vkey: str, held_checkpoint: bytes | None,
            lists: dict[int, SignedStatusList]) -> tuple[int, list[Finding]]:
    """(leaves read, findings) for the log at SOURCE against the status lists held."""
    fetch = log_fetch(source)
    checkpoint = update_checkpoint(held_checkpoint, fetch("checkpoint"), vkey, fetch)
    leaves = [decode_leaf(data) for data in read_entries(checkpoint, fetch)]
    findings: list[Finding] = []
    for list_id, signed in sorted(lists.items()):
        values = expected_values(leaves, signed.issued_at)
        allocated = {idx for (lid, idx) in values if lid == list_id}
        for idx in range(signed.entries.size):
            published = signed.entries.get(idx)
            logged = values.get((list_id, idx), 0 if idx in allocated else -1)
            if published != max(logged, 0) or (published and logged == -1):
                findings.append(Finding(list_id, idx, published, logged))
    return checkpoint.size, findings
