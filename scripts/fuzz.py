"""Bounded mutation fuzzing of every decoder that takes untrusted bytes: the permit payload (through the
full check), the trust list, the status list token, the status list itself, and the verification API's
request parsers (mutated JSON bodies through the Flask app: any 5xx is a crash). Seeds are the
conformance vectors; each input is a seed mutated (bit flips, byte edits, insertions, deletions,
truncation, splices, random CBOR) or random. The rule: a decoder returns a verdict or raises the
project's own error; anything else is a crash, printed with the input that caused it.

    python scripts/fuzz.py [--inputs 1000000] [--seconds 600] [--seed 1]

Exit status 1 if anything else escaped.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import cbor2

from keys import base45
from keys.errors import PermitError
from keys.permit import PREFIX
from keys.statuslist import StatusListError, decode_status_list, verify_status_list
from keys.trustlist import verify_trust_list
from verifier.cache import Cache
from verifier.check import check

VECTORS = Path(__file__).resolve().parent.parent / "docs" / "test-vectors"


def random_cbor(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.randint(-(2**64), 2**64)
    if kind == 1:
        return rng.randbytes(rng.randrange(40))
    if kind == 2:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(20)))
    if kind == 3:
        return rng.choice([None, True, False, 1.5, float("nan")])
    if kind == 4:
        return cbor2.CBORTag(rng.choice([18, 24, 1, 0, 55799]), rng.randbytes(4))
    if kind == 5:
        return [random_cbor(rng, depth + 1) for _ in range(rng.randrange(6))]
    if kind == 6:
        return {rng.choice([1, 4, 5, 6, -65537, "keys", "bits", "lst", 65533]): random_cbor(rng, depth + 1)
                for _ in range(rng.randrange(6))}
    return cbor2.CBORTag(18, [random_cbor(rng, depth + 1) for _ in range(4)])


def mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        if op == 0 and b:
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 2:
            b[rng.randrange(len(b) + 1):0] = rng.randbytes(rng.randint(1, 8))
        elif op == 3 and b:
            i = rng.randrange(len(b))
            del b[i:i + rng.randint(1, 16)]
        elif op == 4 and b:
            del b[rng.randrange(len(b)):]
        elif op == 5:
            other = rng.choice(seeds)
            i, j = rng.randrange(len(b) + 1), rng.randrange(len(other) + 1)
            b = b[:i] + other[j:]
        elif op == 6 and b:
            i = rng.randrange(len(b))
            b[i] = rng.choice([0x00, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x5B, 0x7B, 0x9B, 0xBB, 0xFF, 0x9F, 0xBF])
        else:
            b = bytearray(cbor2.dumps(random_cbor(rng)))
    return bytes(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bounded fuzzing of the decoders")
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    manifest = json.loads((VECTORS / "vectors.json").read_text())
    cache = Cache(Path(tempfile.mkdtemp(prefix="fuzz-cache-")))
    cache.pin_root((VECTORS / "root.pem").read_bytes())
    cache.sync(str(VECTORS), int(time.time()), (VECTORS / "metadata" / "root.json").read_bytes())
    trust, status = cache.trust_list(), cache.status_lookup(max_age=10**9)
    root = cache.root()
    at = manifest["permit_vectors"][0]["at_epoch"]
    payloads = []
    for vector in manifest["permit_vectors"]:
        try:
            payloads.append(base45.decode(vector["payload"].removeprefix(PREFIX)))
        except base45.Base45Error:
            continue  # seeds are the vectors whose text is base45
    trust_raw = (VECTORS / "trust-list.cwt").read_bytes()
    status_raw = (VECTORS / "status" / "1.cwt").read_bytes()
    lst = cbor2.dumps(cbor2.loads(cbor2.loads(status_raw).value[2])[65533])
    assert trust is not None and root is not None

    def payload_target(data: bytes) -> None:
        text = PREFIX + base45.encode(data) if rng.random() < 0.9 else data.decode("latin-1")
        check(text, trust, at, status)

    def text_target(data: bytes) -> None:
        check(PREFIX + data.decode("latin-1"), trust, at, status)

    def trust_target(data: bytes) -> None:
        verify_trust_list(data, root, at)

    def status_token_target(data: bytes) -> None:
        verify_status_list(data, trust, 1)

    from verifier.server import orgs
    from verifier.server.app import create_app

    api_key = orgs.add_org(orgs.connect(cache.dir), "fuzz", "bank", at, rate=1e9)
    api = create_app(cache.dir, {"CLOCK": lambda: at}).test_client()
    api_seeds = [json.dumps(body).encode() for body in (
        {"payload": manifest["permit_vectors"][0]["payload"]},
        {"payloads": [v["payload"] for v in manifest["permit_vectors"][:3]]},
        {"check": {"payload": manifest["permit_vectors"][0]["payload"], "number": "911840199001010018",
                   "name": "MUELLER ANNA LENA", "birth_date": "1988-02-29"}},
        {"checks": [{"payload": "PR1:", "number": "1", "name": "x"}]})]

    class ServerError(Exception):
        """A 5xx answer: the API failed on a request instead of refusing it."""

    def api_target(data: bytes) -> None:
        path = "/v1/identity-check" if b"check" in data[:40] else "/v1/verify"
        resp = api.post(path, data=data, headers={"Authorization": f"Bearer {api_key}",
                                                  "Content-Type": "application/json"})
        if resp.status_code >= 500 or not (resp.is_json or resp.mimetype == "application/problem+json"):
            raise ServerError(f"{path} answered {resp.status_code}: {resp.get_data()[:200]!r}")

    def status_list_target(data: bytes) -> None:
        try:
            obj = cbor2.loads(data)
        except Exception:  # the CBOR library's own errors are not ours to judge here
            return
        decode_status_list(obj, max_entries=1 << 22)

    targets: list[tuple[str, Callable[[bytes], None], list[bytes], tuple[type[BaseException], ...]]] = [
        ("payload", payload_target, payloads, (PermitError,)),
        ("payload text", text_target, [p[:200] for p in payloads], (PermitError,)),
        ("trust list", trust_target, [trust_raw], (PermitError,)),
        ("status token", status_token_target, [status_raw], (PermitError,)),
        ("status list", status_list_target, [lst], (StatusListError,)),
        ("API request", api_target, api_seeds, ()),
    ]
    counts = dict.fromkeys((t[0] for t in targets), 0)
    crashes = 0
    deadline = time.monotonic() + args.seconds
    done = 0
    while done < args.inputs and time.monotonic() < deadline:
        name, target, seeds, allowed = targets[done % len(targets)]
        data = mutate(rng.choice(seeds), rng, seeds) if rng.random() < 0.95 else rng.randbytes(rng.randrange(300))
        try:
            target(data)
        except allowed:
            pass
        except Exception:
            crashes += 1
            print(f"CRASH in {name} on input {data.hex()}:\n{traceback.format_exc()}", file=sys.stderr)
        counts[name] += 1
        done += 1
    print(f"fuzzed {done:,} inputs in {args.seconds if done < args.inputs else 'under'} the bound: "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"crashes (exceptions other than the project's own): {crashes}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
