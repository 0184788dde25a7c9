"""Benchmark: the full offline check against the raw ES256 signature check it is built on.

Ours: payload text in, verdict out (prefix, base45, COSE, key lookup, signature, claims, dates, and a
status lookup in a real in-memory 2-bit status list). Baseline: `cryptography`'s ES256 verify of the
very same signature over the very same bytes, nothing else. Both run interleaved in one process, best
of several rounds each; the ratio (baseline time / our time, 1.0 = no overhead) is printed last.
Also prints the QR version for 20-, 40- and 60-character names. Target: ratio >= 0.85.
"""

from __future__ import annotations

import sys
import time
import zlib
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from helpers import NOW, Issuer, make_permit

from keys.cose import sig_structure
from keys.errors import Reason
from keys.permit import Permit, parse_text
from keys.statuslist import StatusList, decode_status_list
from keys.trustlist import TrustList
from registry.qr import qr_version
from verifier.check import StatusAnswer, check

STATUS_REASONS = (Reason.VALID, Reason.REVOKED, Reason.SUSPENDED, Reason.SUPERSEDED)


class MemoryStatus:
    """A status source over one decoded 131,072-entry list held in memory."""

    def __init__(self, status_list: StatusList) -> None:
        self.list = status_list

    def status_of(self, permit: Permit, trust: TrustList, at: int) -> StatusAnswer:
        return StatusAnswer(STATUS_REASONS[self.list.get(permit.status_index)], age=0)


def best_per_op(fn, n: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / n)
    return best / 1000.0


def main() -> None:
    issuer = Issuer()
    trust = issuer.trust()
    text = issuer.sign(make_permit())
    raw = bytearray(131072 * 2 // 8)
    raw[100] = 0b01  # some revoked entries elsewhere: a real list, not an empty one
    status = MemoryStatus(decode_status_list({"bits": 2, "lst": zlib.compress(bytes(raw), 9)}))
    assert check(text, trust, NOW, status).reason is Reason.VALID

    envelope = parse_text(text)
    data = sig_structure(envelope.protected_raw, envelope.payload)
    der = encode_dss_signature(int.from_bytes(envelope.signature[:32], "big"),
                               int.from_bytes(envelope.signature[32:], "big"))
    public = trust.keys[0].public_key
    algo = ec.ECDSA(hashes.SHA256())

    def ours() -> None:
        check(text, trust, NOW, status)

    def baseline() -> None:
        public.verify(der, data, algo)

    n, rounds = 2000, 3
    ours_us, base_us = float("inf"), float("inf")
    for _ in range(5):  # interleave so both see the same machine noise
        base_us = min(base_us, best_per_op(baseline, n, rounds))
        ours_us = min(ours_us, best_per_op(ours, n, rounds))

    for length in (20, 40, 60):
        surname = "A" * (length // 2)
        given = "B" * (length - len(surname) - 1)
        permit = replace(make_permit(), surname=surname, given_names=given, chinese_name=None)
        with_cn = replace(permit, chinese_name="史密斯")
        v1, v2 = qr_version(issuer.sign(permit)), qr_version(issuer.sign(with_cn))
        print(f"qr version, {length}-character name: {v1} (with a 3-character Chinese name: {v2})")
    print(f"payload: {len(text)} characters")
    print(f"raw ES256 verify:   {base_us:8.1f} us/op")
    print(f"full offline check: {ours_us:8.1f} us/op  (overhead {ours_us - base_us:.1f} us)")
    print(f"ratio (raw / full, target >= 0.85): {base_us / ours_us:.2f}")


if __name__ == "__main__":
    main()
