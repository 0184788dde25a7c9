"""`verifier log monitor SOURCE`: re-derive every status list from the log's leaves and report any status
bit the office published without a logged act behind it.

The leaves give, for each card, its status list and index (card leaves) and every value set on it
(transition leaves; a card that supersedes another sets the old one to 3). Replaying the leaves up to a
status list's issue time gives what that list must say; each entry where the published list (as this
verifier holds it, signature checked) says otherwise is reported: a revocation, suspension or
reinstatement made off the record, or a card that is not in the log at all.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keys.errors import LogError, Reason
from keys.statuslist import SignedStatusList, StatusValue
from keys.tlog.leaves import CardLeaf, Leaf, TransitionLeaf, decode_leaf
from verifier.logclient import read_entries, update_checkpoint

MAX_LOG_FILE = 1 << 20
SUPERSEDED, SUSPENDED, VALID = StatusValue.SUPERSEDED, StatusValue.SUSPENDED, StatusValue.VALID


def log_fetch(source: str) -> Callable[[str], bytes]:
    """`fetch(path)` for the log under SOURCE (a publication directory or URL holding log/, or log/ itself)."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme in ("http", "https"):
        base = source.rstrip("/") + ("/" if source.rstrip("/").endswith("/log") else "/log/")

        def fetch_url(path: str) -> bytes:
            with urllib.request.urlopen(base + path, timeout=15) as response:
                data = response.read(MAX_LOG_FILE + 1)
            if len(data) > MAX_LOG_FILE:
                raise LogError(f"{base + path} is larger than a log file can be", Reason.LOG_MALFORMED)
            return data

        return fetch_url
    root = Path(source)
    if (root / "log" / "checkpoint").exists():
        root = root / "log"
    root = root.resolve()

    def fetch_file(path: str) -> bytes:
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise LogError(f"refusing the log path {path!r}", Reason.LOG_MALFORMED)
        return target.read_bytes()

    return fetch_file


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
