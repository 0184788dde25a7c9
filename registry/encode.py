"""Permit encoding and signing. Every payload is decoded back by the verifier before it leaves here."""

from __future__ import annotations

from keys import cbor
from keys.algorithms import PrivateKey
from keys.cose import sign1
from keys.errors import FormatError
from verifier import base45, number
from verifier.permit import (
    CATEGORY_IDS,
    CLAIM_EXP,
    CLAIM_IAT,
    CLAIM_ISS,
    CLAIM_NBF,
    CLAIM_PERMIT,
    P_BIRTH,
    P_CARD,
    P_CATEGORY,
    P_CHINESE,
    P_GIVEN,
    P_NATIONALITY,
    P_NUMBER,
    P_SEX,
    P_STATUS,
    P_SURNAME,
    PREFIX,
    SEX_IDS,
    Permit,
    day_number,
    decode_claims,
    parse_text,
)


def claims_of(permit: Permit) -> bytes:
    """The CWT claims of a permit, in deterministic (RFC 8949 core) CBOR."""
    data: dict[int, object] = {
        P_NUMBER: number.body_to_int(permit.number),
        P_CARD: permit.card,
        P_SURNAME: permit.surname,
        P_GIVEN: permit.given_names,
        P_SEX: SEX_IDS[permit.sex],
        P_BIRTH: day_number(permit.birth_date),
        P_NATIONALITY: permit.nationality,
        P_CATEGORY: CATEGORY_IDS[permit.category],
        P_STATUS: [permit.status_list, permit.status_index],
    }
    if permit.chinese_name:
        data[P_CHINESE] = permit.chinese_name
    claims = {
        CLAIM_ISS: permit.authority,
        CLAIM_EXP: permit.valid_until,
        CLAIM_NBF: permit.valid_from,
        CLAIM_IAT: permit.signed_at,
        CLAIM_PERMIT: data,
    }
    return cbor.dumps(claims)


def encode_permit(permit: Permit, key: PrivateKey, kid: bytes) -> str:
    """Sign a permit and return its QR text (prefix + base45). Self-checked: the verifier's decoder
    must read back exactly this permit, and the signature must verify with the signing key."""
    text = PREFIX + base45.encode(sign1(claims_of(permit), key, kid))
    envelope = parse_text(text)
    envelope.verify(key.public_key())
    if decode_claims(envelope.payload) != permit:
        raise FormatError("self-check failed: the signed permit does not decode to the data given")
    return text
