"""Benchmark: a 10,000,000-entry status list with 1% revoked: publish (pack, compress, sign) and the
verifier's load (signature, inflate, index). Baselines in the same run: zlib alone on the same bytes
(the floor of publishing) and zlib.decompress alone (the floor of loading).
Targets: publish < 1 s, load < 50 ms."""

from __future__ import annotations

import random
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers import NOW, STATUS_URI, Issuer

from keys.statuslist import pack_entries, status_token, verify_status_list

SIZE = 10_000_000


def best(fn, rounds: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    issuer = Issuer()
    trust = issuer.trust()
    rng = random.Random(1)
    revoked = [(i, 1) for i in rng.sample(range(SIZE), SIZE // 100)]
    uri = STATUS_URI.replace("{id}", "1")

    def publish() -> bytes:
        return status_token(uri, pack_entries(SIZE, revoked), NOW, 3600, NOW + 86400, issuer.status_key)

    raw = bytes(pack_entries(SIZE, revoked))
    zlib_s, _ = best(lambda: zlib.compress(raw, 9))
    publish_s, token = best(publish)
    load_s, signed = best(lambda: verify_status_list(token, trust, 1))  # type: ignore[arg-type]
    compressed = zlib.compress(raw, 9)
    inflate_s, _ = best(lambda: zlib.decompress(compressed))
    assert signed.entries.get(revoked[0][0]) == 1  # type: ignore[attr-defined]
    print(f"entries: {SIZE:,}, revoked: {len(revoked):,} (1%)")
    print(f"raw {len(raw) / 1e6:.1f} MB -> signed token {len(token) / 1e3:.0f} kB")  # type: ignore[arg-type]
    print(f"publish (pack + zlib-9 + sign): {publish_s * 1000:7.0f} ms   (target < 1000 ms; zlib alone "
          f"{zlib_s * 1000:.0f} ms)")
    print(f"verifier load (verify + inflate): {load_s * 1000:5.1f} ms   (target < 50 ms; inflate alone "
          f"{inflate_s * 1000:.1f} ms)")
    print(f"ratio publish/zlib-only: {zlib_s / publish_s:.2f}; load/inflate-only: {inflate_s / load_s:.2f}")


if __name__ == "__main__":
    main()
