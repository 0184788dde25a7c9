"""Builders shared by the tests: keys, trust lists and permits at a fixed validation clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from keys import algorithms, number
from keys.algorithms import ES256, PrivateKey
from keys.permit import Permit, day_start, encode_permit
from keys.trustlist import KeyState, KeyUse, TrustedKey, TrustList, build_trust_list, verify_trust_list

NOW = int(datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp())
DAY = 86400
YEAR = 365 * DAY
STATUS_URI = "https://permits.example/status/{id}.cwt"


def make_permit(**overrides: object) -> Permit:
    birth = date(1990, 1, 1)
    fields: dict[str, object] = {
        "number": number.compose("11", 840, birth, 1),
        "card": 1,
        "surname": "SMITH",
        "given_names": "JOHN PAUL",
        "chinese_name": "史密斯",
        "sex": "M",
        "birth_date": birth,
        "nationality": "USA",
        "category": "talent",
        "authority": "NIA",
        "valid_from": day_start(date(2026, 1, 15)),
        "valid_until": day_start(date(2036, 1, 15)),
        "signed_at": NOW - 300 * DAY,
        "status_list": 1,
        "status_index": 4321,
    }
    fields.update(overrides)
    return Permit(**fields)  # type: ignore[arg-type]


def trusted(private: PrivateKey, use: KeyUse = KeyUse.PERMIT, state: KeyState = KeyState.ACTIVE,
            not_before: int = NOW - 3 * YEAR, not_after: int | None = None, kid: bytes | None = None) -> TrustedKey:
    public = private.public_key()
    return TrustedKey(kid or algorithms.key_id(public), algorithms.algorithm_of(private), use,
                      algorithms.spki_der(public), not_before, not_after, state)


@dataclass
class Issuer:
    """A root key, one permit key and one status key, with a trust list valid at NOW."""

    alg: int = ES256
    root: PrivateKey = field(init=False)
    permit_key: PrivateKey = field(init=False)
    status_key: PrivateKey = field(init=False)
    keys: list[TrustedKey] = field(init=False)

    def __post_init__(self) -> None:
        self.root = algorithms.generate_private_key(ES256)
        self.permit_key = algorithms.generate_private_key(self.alg)
        self.status_key = algorithms.generate_private_key(ES256)
        self.keys = [trusted(self.permit_key), trusted(self.status_key, KeyUse.STATUS)]

    @property
    def permit_entry(self) -> TrustedKey:
        return self.keys[0]

    def trust_bytes(self, version: int = 1, issued_at: int = NOW - DAY, expires_at: int = NOW + 7 * DAY,
                    keys: list[TrustedKey] | None = None, root: PrivateKey | None = None) -> bytes:
        return build_trust_list(version=version, issuer="NIA", issued_at=issued_at, expires_at=expires_at,
                                status_uri=STATUS_URI, keys=self.keys if keys is None else keys,
                                root_key=root or self.root)

    def trust(self, **kw: object) -> TrustList:
        return verify_trust_list(self.trust_bytes(**kw), self.root.public_key(), NOW)  # type: ignore[arg-type]

    def sign(self, permit: Permit | None = None, key: PrivateKey | None = None, **overrides: object) -> str:
        permit = permit or make_permit()
        if overrides:
            permit = replace(permit, **overrides)
        key = key or self.permit_key
        return encode_permit(permit, key, algorithms.key_id(key.public_key()))
