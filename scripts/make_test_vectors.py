"""Generate the conformance vectors in docs/test-vectors/ from the fixed test keys kept there.

    python scripts/make_test_vectors.py [OUTDIR]          # regenerate (default: docs/test-vectors)
    python scripts/make_test_vectors.py --new-keys        # once: create the fixed test keys

Output is byte-for-byte reproducible (deterministic ECDSA, Ed25519, deterministic CBOR and PNG), so
the test suite regenerates the vectors into a temporary directory and diffs them with the committed
ones. The keys are TEST KEYS, published on purpose; never trust them outside tests.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from keys import algorithms
from keys.algorithms import EDDSA, ES256, PrivateKey
from keys.trustlist import KeyState, KeyUse, TrustedKey, build_trust_list
from registry.encode import encode_permit
from registry.publish import export, pack_entries, status_token
from registry.qr import png_bytes
from registry.repository import Lifetimes, Repository
from verifier import base45, number
from verifier.permit import PREFIX, Permit, day_start

HERE = Path(__file__).resolve().parent.parent / "docs" / "test-vectors"
KEY_NAMES = {"root": ES256, "es256": ES256, "eddsa": EDDSA, "retired": ES256, "compromised": ES256,
             "collider": ES256, "unlisted": ES256, "status": ES256}


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


CLOCK = ts("2026-06-01T08:00:00")
TRUST_IAT, TRUST_EXP = ts("2026-01-01T00:00:00"), ts("2099-12-31T00:00:00")
KEYS_FROM, RETIRED_AT = ts("2025-01-01T00:00:00"), ts("2026-03-01T00:00:00")
STATUS_URI = "https://permits.example/status/{id}.cwt"
STATUS_IAT, STATUS_TTL = ts("2026-05-31T00:00:00"), 2 * 86400
REVOKED_IDX, SUSPENDED_IDX, SUPERSEDED_IDX = 111, 222, 333


def load_keys(directory: Path) -> dict[str, PrivateKey]:
    keys = {}
    for name in KEY_NAMES:
        pem = (directory / "keys" / f"{name}.pem").read_bytes()
        keys[name] = serialization.load_pem_private_key(pem, password=None)
    return keys  # type: ignore[return-value]


def new_keys(directory: Path) -> None:
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    for name, alg in KEY_NAMES.items():
        path = directory / "keys" / f"{name}.pem"
        if path.exists():
            raise SystemExit(f"{path} exists; delete the keys deliberately before making new ones")
        pem = algorithms.generate_private_key(alg).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        path.write_bytes(pem)


def entry(key: PrivateKey, state: KeyState = KeyState.ACTIVE, not_after: int | None = None,
          kid: bytes | None = None, use: KeyUse = KeyUse.PERMIT) -> TrustedKey:
    public = key.public_key()
    return TrustedKey(kid or algorithms.key_id(public), algorithms.algorithm_of(key), use,
                      algorithms.spki_der(public), KEYS_FROM, not_after, state)


def kid(key: PrivateKey) -> bytes:
    return algorithms.key_id(key.public_key())


def base_permit() -> Permit:
    birth = date(1988, 2, 29)
    return Permit(
        number=number.compose("31", 276, birth, 2), card=1, surname="MUELLER", given_names="ANNA LENA",
        chinese_name="穆安娜", sex="F", birth_date=birth, nationality="DEU", category="employment",
        authority="NIA", valid_from=day_start(date(2026, 2, 1)), valid_until=day_start(date(2036, 2, 1)),
        signed_at=ts("2026-02-01T02:00:00"), status_list=1, status_index=98765,
    )


def tamper(text: str, find: bytes, to: bytes) -> str:
    raw = base45.decode(text[len(PREFIX):])
    assert find in raw
    return PREFIX + base45.encode(raw.replace(find, to, 1))


def tuf_repository(out: Path, root: PrivateKey, targets: dict[str, bytes]) -> None:
    """The kit as a published TUF repository (metadata/, targets/), signed by the test root key as the
    1-of-1 root and online key, vouched for at STATUS_IAT, valid until 2099: `verifier sync` reads it."""
    spans = Lifetimes(timestamp=TRUST_EXP - STATUS_IAT, metadata=TRUST_EXP - STATUS_IAT, root=TRUST_EXP - STATUS_IAT)
    shutil.rmtree(out / "metadata", ignore_errors=True)
    shutil.rmtree(out / "targets", ignore_errors=True)
    with tempfile.TemporaryDirectory() as state:
        repo = Repository(Path(state))
        repo.write_root([entry(root)], 1, entry(root), STATUS_IAT, [root], spans)
        export(repo, out, targets, STATUS_IAT, root, spans)


def generate(out: Path, keys_dir: Path) -> None:
    k = load_keys(keys_dir)
    if out != keys_dir:
        shutil.copytree(keys_dir / "keys", out / "keys", dirs_exist_ok=True)
    trusted = [
        entry(k["es256"]),
        entry(k["eddsa"]),
        entry(k["retired"], KeyState.RETIRED, RETIRED_AT),
        entry(k["compromised"], KeyState.COMPROMISED, ts("2026-04-01T00:00:00")),
        entry(k["collider"], kid=kid(k["es256"])),  # a second key under es256's kid: both must be tried
        entry(k["status"], use=KeyUse.STATUS),
    ]
    trust_args = {"issuer": "NIA", "status_uri": STATUS_URI, "keys": trusted, "root_key": k["root"]}
    files: dict[str, bytes] = {
        "root.pem": algorithms.public_pem(k["root"].public_key()).encode(),
        "trust-list.cwt": build_trust_list(version=2, issued_at=TRUST_IAT, expires_at=TRUST_EXP, **trust_args),
        "trust-list-v1.cwt": build_trust_list(version=1, issued_at=TRUST_IAT - 86400, expires_at=TRUST_EXP,
                                              **trust_args),
        "trust-list-expired.cwt": build_trust_list(version=3, issued_at=TRUST_IAT,
                                                   expires_at=ts("2026-02-01T00:00:00"), **trust_args),
        "trust-list-other-root.cwt": build_trust_list(version=9, issued_at=TRUST_IAT, expires_at=TRUST_EXP,
                                                      **{**trust_args, "root_key": k["unlisted"]}),
    }
    raw = pack_entries(131072, [(REVOKED_IDX, 1), (SUSPENDED_IDX, 2), (SUPERSEDED_IDX, 3)])
    files["status/1.cwt"] = status_token(STATUS_URI.replace("{id}", "1"), raw, STATUS_IAT, STATUS_TTL, TRUST_EXP,
                                         k["status"])
    tuf_repository(out, k["root"], {"trust-list.cwt": files["trust-list.cwt"], "status/1.cwt": files["status/1.cwt"]})
    p = base_permit()
    sign = lambda permit, key: encode_permit(permit, k[key], kid(k[key]))  # noqa: E731
    valid = sign(p, "es256")
    long_name = replace(p, surname="VON HOHENZOLLERN-SIGMARINGEN", given_names="MARIA ALEXANDRA")
    vectors = [
        ("valid-es256", "ES256 permit, all checks pass", valid, CLOCK, "valid", "VALID"),
        ("valid-eddsa", "EdDSA (Ed25519) permit", sign(p, "eddsa"), CLOCK, "valid", "VALID"),
        ("valid-no-chinese-name", "holder without a Chinese name", sign(replace(p, chinese_name=None), "es256"),
         CLOCK, "valid", "VALID"),
        ("valid-40-char-name", "a 40-character Latin name (28 + 1 + 15 characters, surname and given names)",
         sign(long_name, "es256"), CLOCK, "valid", "VALID"),
        ("valid-retired-key", "signed by a key retired after it signed", sign(p, "retired"), CLOCK, "valid", "VALID"),
        ("valid-kid-collision", "signed by the second of two keys listed under one kid",
         encode_permit(p, k["collider"], kid(k["es256"])), CLOCK, "valid", "VALID"),
        ("malformed-garbage", "non-alphanumeric garbage", "hello, world! <>{}\u00e9", CLOCK, "invalid", "MALFORMED"),
        ("malformed-wrong-prefix", "another scheme's prefix", "HC1:" + valid[4:], CLOCK, "invalid", "MALFORMED"),
        ("malformed-truncated", "payload cut short", valid[:-20], CLOCK, "invalid", "MALFORMED"),
        ("malformed-bad-base45", "a base45 group above 65535", PREFIX + "GGW" + valid[7:], CLOCK, "invalid",
         "MALFORMED"),
        ("malformed-not-cose", "valid base45 of CBOR that is not COSE_Sign1", PREFIX + base45.encode(b"\xa1\x01\x02"),
         CLOCK, "invalid", "MALFORMED"),
        ("malformed-oversized", "longer than any QR code holds", PREFIX + "0" * 4400, CLOCK, "invalid", "MALFORMED"),
        ("unsupported-version", "a later format version", "PR2:" + valid[4:], CLOCK, "indeterminate",
         "UNSUPPORTED_VERSION"),
        ("unknown-key", "signed by a key not in the trust list", sign(p, "unlisted"), CLOCK, "indeterminate",
         "UNKNOWN_KEY"),
        ("bad-signature-tampered-byte", "one byte of the surname changed after signing",
         tamper(valid, b"MUELLER", b"MUELLEX"), CLOCK, "invalid", "BAD_SIGNATURE"),
        ("bad-signature-flipped-bit", "last signature bit flipped",
         PREFIX + base45.encode(base45.decode(valid[4:])[:-1] + bytes([base45.decode(valid[4:])[-1] ^ 1])),
         CLOCK, "invalid", "BAD_SIGNATURE"),
        ("key-not-valid", "signed by the retired key after its window closed",
         sign(replace(p, signed_at=ts("2026-05-01T00:00:00")), "retired"), CLOCK, "invalid", "KEY_NOT_VALID"),
        ("key-compromised", "signed by a key since marked compromised", sign(p, "compromised"), CLOCK, "invalid",
         "KEY_COMPROMISED"),
        ("not-yet-valid", "validation clock before the issue date", valid, ts("2026-01-31T12:00:00"), "invalid",
         "NOT_YET_VALID"),
        ("expired", "validation clock after the expiry date", valid, ts("2036-02-01T00:00:00"), "invalid",
         "EXPIRED"),
        ("trust-list-stale", "validation clock after the trust list expired", valid, ts("2100-01-01T00:00:00"),
         "indeterminate", "TRUST_LIST_STALE"),
        ("revoked", "status entry 1", sign(replace(p, status_index=REVOKED_IDX), "es256"), CLOCK, "invalid",
         "REVOKED"),
        ("suspended", "status entry 2", sign(replace(p, status_index=SUSPENDED_IDX), "es256"), CLOCK, "invalid",
         "SUSPENDED"),
        ("superseded", "status entry 3: an older card of a renewed or replaced permit",
         sign(replace(p, status_index=SUPERSEDED_IDX), "es256"), CLOCK, "invalid", "SUPERSEDED"),
        ("status-stale", "status list older than its ttl (2 days) at the validation clock", valid,
         ts("2026-06-10T00:00:00"), "indeterminate", "STATUS_STALE"),
        ("status-unknown", "the permit points at status list 2, which is not published",
         sign(replace(p, status_list=2), "es256"), CLOCK, "indeterminate", "STATUS_UNKNOWN"),
    ]
    manifest = []
    for i, (name, description, text, at, verdict, reason) in enumerate(vectors, start=1):
        stem = f"{i:02d}-{name}"
        item = {"name": stem, "description": description, "payload": text,
                "at": datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z"), "at_epoch": at,
                "trust_list": "trust-list.cwt", "root": "root.pem",
                "expected": {"verdict": verdict, "reason": reason}}
        if len(text) <= 4296 and set(text) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"):
            files[f"{stem}.png"] = png_bytes(text, box_size=4)
            item["qr"] = f"{stem}.png"
        manifest.append(item)
    trust_vectors = [
        {"name": "trust-accept", "trust_list": "trust-list.cwt", "current": "trust-list-v1.cwt", "expected": "OK"},
        {"name": "trust-rollback", "trust_list": "trust-list-v1.cwt", "current": "trust-list.cwt",
         "expected": "TRUST_LIST_ROLLBACK"},
        {"name": "trust-expired", "trust_list": "trust-list-expired.cwt", "current": None,
         "expected": "TRUST_LIST_EXPIRED"},
        {"name": "trust-other-root", "trust_list": "trust-list-other-root.cwt", "current": None,
         "expected": "TRUST_LIST_BAD_SIGNATURE"},
    ]
    for t in trust_vectors:
        t.update({"root": "root.pem", "at": "2026-06-01T08:00:00Z", "at_epoch": CLOCK})
    files["vectors.json"] = (json.dumps({"format": "PR1", "permit_vectors": manifest,
                                         "trust_list_vectors": trust_vectors}, indent=2, ensure_ascii=False)
                             + "\n").encode()
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--new-keys"]:
        new_keys(HERE)
        return
    generate(Path(argv[0]) if argv else HERE, HERE)


if __name__ == "__main__":
    main(sys.argv[1:])
