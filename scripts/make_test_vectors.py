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

from keys import algorithms, base45, number
from keys.algorithms import EDDSA, ES256, PrivateKey
from keys.permit import PREFIX, Permit, day_start, encode_permit
from keys.statuslist import StatusValue, pack_entries, status_token
from keys.trustlist import KeyState, KeyUse, TrustedKey, build_trust_list
from registry.numbers import LIST_SIZE
from registry.publish import export
from registry.qr import png_bytes
from registry.repository import Lifetimes, Repository

sys.path.insert(0, str(Path(__file__).resolve().parent))
import malleate  # scripts/ is not a package: found through the path set above

HERE = Path(__file__).resolve().parent.parent / "docs" / "test-vectors"
KEY_NAMES = {"root": ES256, "es256": ES256, "eddsa": EDDSA, "retired": ES256, "compromised": ES256,
             "unlisted": ES256, "status": ES256}
QR_ALPHANUMERIC_M = 3391  # the most alphanumeric characters a QR code holds at ECC level M (version 40)
VALUES = {"REVOKED": StatusValue.INVALID, "SUSPENDED": StatusValue.SUSPENDED, "SUPERSEDED": StatusValue.SUPERSEDED}


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


SIGNATURE_HELD = {"VALID", "KEY_COMPROMISED", "KEY_NOT_VALID", "NOT_YET_VALID", "EXPIRED", "REVOKED", "SUSPENDED",
                  "SUPERSEDED", "STATUS_STALE", "STATUS_UNKNOWN", "STATUS_INDEX_INVALID"}


def iso(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def trust_files(k: dict[str, PrivateKey]) -> dict[str, bytes]:
    trusted = [
        entry(k["es256"]),
        entry(k["eddsa"]),
        entry(k["retired"], KeyState.RETIRED, RETIRED_AT),
        entry(k["compromised"], KeyState.COMPROMISED, ts("2026-04-01T00:00:00")),
        entry(k["status"], use=KeyUse.STATUS),
    ]
    args = {"issuer": "NIA", "status_uri": STATUS_URI, "keys": trusted, "root_key": k["root"]}
    listed = build_trust_list(version=2, issued_at=TRUST_IAT, expires_at=TRUST_EXP, **args)
    return {
        "root.pem": algorithms.public_pem(k["root"].public_key()).encode(),
        "trust-list.cwt": listed,
        "trust-list-v1.cwt": build_trust_list(version=1, issued_at=TRUST_IAT - 86400, expires_at=TRUST_EXP, **args),
        "trust-list-expired.cwt": build_trust_list(version=3, issued_at=TRUST_IAT,
                                                   expires_at=ts("2026-02-01T00:00:00"), **args),
        "trust-list-other-root.cwt": build_trust_list(version=9, issued_at=TRUST_IAT, expires_at=TRUST_EXP,
                                                      **{**args, "root_key": k["unlisted"]}),
        # A second key listed under es256's kid: a kid is its own key's id, so the whole list is refused.
        "trust-list-kid-mismatch.cwt": build_trust_list(
            version=4, issued_at=TRUST_IAT, expires_at=TRUST_EXP,
            **{**args, "keys": [*trusted, entry(k["unlisted"], kid=kid(k["es256"]))]}),
        "trust-list-trailing-bytes.cwt": listed + b"\x00",
    }


def status_files(k: dict[str, PrivateKey]) -> dict[str, bytes]:
    raw = pack_entries(LIST_SIZE, [(REVOKED_IDX, VALUES["REVOKED"]), (SUSPENDED_IDX, VALUES["SUSPENDED"]),
                                   (SUPERSEDED_IDX, VALUES["SUPERSEDED"])])
    token = lambda list_id, key: status_token(STATUS_URI.replace("{id}", str(list_id)), raw, STATUS_IAT,  # noqa: E731
                                              STATUS_TTL, TRUST_EXP, k[key])
    return {
        "status/1.cwt": token(1, "status"),
        "status-wrong-list.cwt": token(7, "status"),  # a genuine list 7 offered as list 1
        "status-permit-key.cwt": token(1, "es256"),  # signed by a permit key, not a status key
    }


def permit_vectors(k: dict[str, PrivateKey]) -> list[tuple]:
    """(name, description, text, check clock, verdict, reason, the permit signed or None, loads a trust list)."""
    p = base_permit()
    sign = lambda permit, key: encode_permit(permit, k[key], kid(k[key]))  # noqa: E731
    valid = sign(p, "es256")
    long_name = replace(p, surname="VON HOHENZOLLERN-SIGMARINGEN", given_names="MARIA ALEXANDRA")
    flipped = base45.decode(valid[4:])
    vectors = [
        ("valid-es256", "ES256 permit, all checks pass", valid, CLOCK, "valid", "VALID", p),
        ("valid-eddsa", "EdDSA (Ed25519) permit", sign(p, "eddsa"), CLOCK, "valid", "VALID", p),
        ("valid-no-chinese-name", "holder without a Chinese name", sign(replace(p, chinese_name=None), "es256"),
         CLOCK, "valid", "VALID", replace(p, chinese_name=None)),
        ("valid-40-char-name", "a 40-character Latin name (28 + 1 + 15 characters, surname and given names)",
         sign(long_name, "es256"), CLOCK, "valid", "VALID", long_name),
        ("valid-retired-key", "signed by a key retired after it signed", sign(p, "retired"), CLOCK, "valid", "VALID",
         p),
        ("valid-scanner-line-end", "a handheld scanner's CR LF after the text (stripped)", valid + "\r\n", CLOCK,
         "valid", "VALID", p),
        ("malformed-garbage", "non-alphanumeric garbage", "hello, world! <>{}\u00e9", CLOCK, "invalid", "MALFORMED",
         None),
        ("malformed-wrong-prefix", "another scheme's prefix", "HC1:" + valid[4:], CLOCK, "invalid", "MALFORMED", None),
        ("malformed-truncated", "payload cut short", valid[:-20], CLOCK, "invalid", "MALFORMED", None),
        ("malformed-bad-base45", "a base45 group above 65535", PREFIX + "GGW" + valid[7:], CLOCK, "invalid",
         "MALFORMED", None),
        ("malformed-not-cose", "valid base45 of CBOR that is not COSE_Sign1", PREFIX + base45.encode(b"\xa1\x01\x02"),
         CLOCK, "invalid", "MALFORMED", None),
        ("malformed-oversized", "longer than a QR code holds at ECC M", PREFIX + "0" * 4400, CLOCK, "invalid",
         "MALFORMED", None),
    ]
    for name, (variant, reason) in malleate.UNSIGNED.items():
        vectors.append((f"strict-{name}", (variant.__doc__ or name).strip(), variant(valid), CLOCK,
                        "invalid", reason, None))
    for name, (variant, reason) in malleate.SIGNED.items():
        vectors.append((f"strict-{name}", (variant.__doc__ or name).strip(), variant(valid, k["es256"]), CLOCK,
                        "invalid", reason, None))
    vectors += [
        ("unsupported-version", "a later format version", "PR2:" + valid[4:], CLOCK, "indeterminate",
         "UNSUPPORTED_VERSION", None),
        ("unknown-key", "signed by a key not in the trust list", sign(p, "unlisted"), CLOCK, "indeterminate",
         "UNKNOWN_KEY", None),
        ("bad-signature-tampered-byte", "one byte of the surname changed after signing",
         malleate.text_of(base45.decode(valid[4:]).replace(b"MUELLER", b"MUELLEX", 1)), CLOCK, "invalid",
         "BAD_SIGNATURE", None),
        ("bad-signature-flipped-bit", "last signature bit flipped",
         PREFIX + base45.encode(flipped[:-1] + bytes([flipped[-1] ^ 1])), CLOCK, "invalid", "BAD_SIGNATURE", None),
        ("key-not-valid", "signed by the retired key after its window closed",
         sign(replace(p, signed_at=ts("2026-05-01T00:00:00")), "retired"), CLOCK, "invalid", "KEY_NOT_VALID",
         replace(p, signed_at=ts("2026-05-01T00:00:00"))),
        ("key-compromised", "signed by a key since marked compromised", sign(p, "compromised"), CLOCK, "invalid",
         "KEY_COMPROMISED", p),
        ("not-yet-valid", "validation clock before the issue date", valid, ts("2026-01-31T12:00:00"), "invalid",
         "NOT_YET_VALID", p),
        ("expired", "validation clock at exp: 00:00 (UTC+8) of the day after the expiry date", valid,
         ts("2036-01-31T16:00:00"), "invalid", "EXPIRED", p),
        ("dates-pass-last-second", "validation clock one second before exp: the dates pass, and the ten-year-old "
         "status list then says STATUS_STALE", valid, ts("2036-01-31T15:59:59"), "indeterminate", "STATUS_STALE", p),
        ("boundary-valid-from", "validation clock exactly at nbf (00:00 UTC+8 of the issue date)", valid,
         p.valid_from, "valid", "VALID", p),
        ("boundary-key-window-end", "signed in the last second of the retired key's window (iat == its exp)",
         sign(replace(p, signed_at=RETIRED_AT), "retired"), CLOCK, "valid", "VALID", replace(p, signed_at=RETIRED_AT)),
        ("boundary-status-age-equals-ttl", "the status list exactly ttl (2 days) old: still fresh", valid,
         STATUS_IAT + STATUS_TTL, "valid", "VALID", p),
        ("boundary-status-age-past-ttl", "the status list one second older than its ttl", valid,
         STATUS_IAT + STATUS_TTL + 1, "indeterminate", "STATUS_STALE", p),
        ("trust-list-stale", "validation clock after the trust list expired (loaded while it was valid)", valid,
         ts("2100-01-01T00:00:00"), "indeterminate", "TRUST_LIST_STALE", None),
        ("no-trust-list", "nothing loaded", valid, CLOCK, "indeterminate", "NO_TRUST_LIST", None),
    ]
    for name, index, reason in (("revoked", REVOKED_IDX, "REVOKED"), ("suspended", SUSPENDED_IDX, "SUSPENDED"),
                                ("superseded", SUPERSEDED_IDX, "SUPERSEDED")):
        held = replace(p, status_index=index)
        vectors.append((name, f"status entry {VALUES[reason].value}", sign(held, "es256"), CLOCK, "invalid", reason,
                        held))
    outside = replace(p, status_index=LIST_SIZE + 5)
    vectors += [
        ("status-stale", "status list older than its ttl (2 days) at the validation clock", valid,
         ts("2026-06-10T00:00:00"), "indeterminate", "STATUS_STALE", p),
        ("status-unknown", "the permit points at status list 2, which is not published",
         sign(replace(p, status_list=2), "es256"), CLOCK, "indeterminate", "STATUS_UNKNOWN",
         replace(p, status_list=2)),
        ("status-index-out-of-range", f"the permit points at entry {LIST_SIZE + 5} of a {LIST_SIZE}-entry list",
         sign(outside, "es256"), CLOCK, "invalid", "STATUS_INDEX_INVALID", outside),
    ]
    for name, (variant, reason) in malleate.SIGNED_KEY_TYPES.items():
        vectors.append((f"strict-{name}", (variant.__doc__ or name).strip(), variant(valid, k["es256"]), CLOCK,
                        "invalid", reason, None))
    return vectors


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
    files = {**trust_files(k), **status_files(k)}
    tuf_repository(out, k["root"], {"trust-list.cwt": files["trust-list.cwt"], "status/1.cwt": files["status/1.cwt"]})
    full_load = {"root": "root.pem", "trust_list": "trust-list.cwt", "status_lists": {"1": "status/1.cwt"},
                 "at": iso(CLOCK), "at_epoch": CLOCK}
    manifest = []
    for i, (name, description, text, at, verdict, reason, permit) in enumerate(permit_vectors(k), start=1):
        stem = f"{i:02d}-{name}"
        assert (permit is not None) == (reason in SIGNATURE_HELD), name
        item = {"name": stem, "description": description, "payload": text,
                "load": {} if name == "no-trust-list" else full_load, "at": iso(at), "at_epoch": at,
                "expected": {"verdict": verdict, "reason": reason,
                             "permit": permit.to_json() if permit is not None else None}}
        if len(text.strip()) <= QR_ALPHANUMERIC_M and set(text.strip()) <= set(base45.ALPHABET):
            files[f"{stem}.png"] = png_bytes(text.strip(), box_size=4)
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
        {"name": "trust-kid-mismatch", "trust_list": "trust-list-kid-mismatch.cwt", "current": None,
         "expected": "TRUST_LIST_INVALID"},
        {"name": "trust-trailing-bytes", "trust_list": "trust-list-trailing-bytes.cwt", "current": None,
         "expected": "TRUST_LIST_INVALID"},
    ]
    for t in trust_vectors:
        t.update({"root": "root.pem", "at": iso(CLOCK), "at_epoch": CLOCK})
    status_vectors = [
        {"name": "status-accept", "status_list": "status/1.cwt", "id": 1, "expected": "OK"},
        {"name": "status-wrong-list", "status_list": "status-wrong-list.cwt", "id": 1, "expected": "STATUS_UNKNOWN"},
        {"name": "status-permit-key", "status_list": "status-permit-key.cwt", "id": 1, "expected": "STATUS_UNKNOWN"},
    ]
    for s in status_vectors:
        s.update({"root": "root.pem", "trust_list": "trust-list.cwt", "at": iso(CLOCK), "at_epoch": CLOCK})
    files["vectors.json"] = (json.dumps({"format": "PR1", "permit_vectors": manifest,
                                         "trust_list_vectors": trust_vectors,
                                         "status_list_vectors": status_vectors}, indent=2, ensure_ascii=False)
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
