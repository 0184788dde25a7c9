"""Abuse limits of the verification service: rate limits that count checks, not requests; JSON bodies read
with a nesting limit; image decoding with bounded concurrency (the pixel limit itself is in verifier/scan.py,
read from the image header before anything is decoded).

Rate: a token bucket per API key and server worker. A check costs one token, so a batch of 1,000 costs
1,000. The bucket holds `burst` tokens, where the burst follows the organisation's own rate: the sector's
burst scaled by (organisation rate / sector rate), so `--rate 1` in a sector of rate 200 and burst 400 gets
a burst of 2, not 400. A request is admitted when the bucket holds its cost (or, for a batch larger than the
burst, a full bucket); it may then take the bucket below zero, and the key waits until the debt is repaid:
over any long stretch a key gets `rate` checks per second and no more, however it packs them.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
IMAGE_DECODERS = 2  # images decoded at once per worker process; others wait up to IMAGE_WAIT seconds
IMAGE_WAIT = 10.0


@dataclass
class _Bucket:
    tokens: float
    at: float


def burst_for(rate: float, sector_rate: float, sector_burst: int) -> float:
    """The bucket size for a key of `rate` checks per second in a sector of (sector_rate, sector_burst)."""
    return max(1.0, sector_burst * rate / sector_rate)


class CheckLimiter:
    """Token buckets per key, counting checks. `take` answers None (admitted) or the seconds to wait;
    `paid` is what the same request has already taken (a request pays for one check before its body is
    read, and for the rest of its batch after), so a batch as large as the burst still fits a full bucket."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, cost: int, rate: float, burst: float, paid: int = 0) -> float | None:
        if cost < 1:
            return None
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(burst, now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            need = min(float(cost + paid), burst) - paid
            if bucket.tokens >= need:
                bucket.tokens -= cost  # a batch above the burst leaves a debt the key waits out
                return None
            return (need - bucket.tokens) / rate


class TooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""


def json_depth_ok(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether no array or object in `raw` nests deeper than `limit`, without parsing it: strings are cut
    out by one regular expression, then only the brackets left are walked."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return True
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub(b"", raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return False
        else:
            depth -= 1
    return True


def load_json(raw: bytes) -> Any:
    """The JSON value in `raw`; ValueError if it is not JSON, TooDeep if it nests deeper than allowed
    (never a RecursionError from the decoder)."""
    if not json_depth_ok(raw):
        raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        # json.loads(bytes) guesses the encoding in Python first; a body opening with "{" is UTF-8 by the
        # same rule (RFC 8259 section 8.1), so it is decoded as json.loads would decode it, without the guess
        return json.loads(raw.decode("utf-8", "surrogatepass") if raw[:1] == b"{" else raw)
    except RecursionError:
        raise TooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None


class DecodeSlots:
    """At most `slots` image decodings at once in this process (a BoundedSemaphore); `acquire` waits up to
    `wait` seconds and answers False when none came free."""

    def __init__(self, slots: int = IMAGE_DECODERS, wait: float = IMAGE_WAIT) -> None:
        self._semaphore = threading.BoundedSemaphore(slots)
        self._wait = wait

    def acquire(self) -> bool:
        return self._semaphore.acquire(timeout=self._wait)

    def release(self) -> None:
        self._semaphore.release()
