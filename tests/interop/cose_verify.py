"""Verify COSE_Sign1 messages with python-cwt, an implementation not written here.

Runs in its own environment (`$PERMIT_VENV-interop`, see scripts/setup) because python-cwt still
requires cbor2 < 6. Reads a JSON list of {"cose": hex, "key_pem": PEM} on standard input and prints
a JSON list of {"ok": bool, "payload": hex or null, "error": text}.
"""

import json
import sys

import cbor2
from cwt import COSE, COSEKey


def verify(cose_hex: str, key_pem: str) -> dict:
    data = bytes.fromhex(cose_hex)
    message = cbor2.loads(data)
    protected = cbor2.loads(message.value[0])
    key = COSEKey.from_pem(key_pem, alg=protected[1], kid=protected[4])
    try:
        payload = COSE.new().decode(data, key)
    except Exception as exc:  # cwt's VerifyError and DecodeError: reported, not raised
        return {"ok": False, "payload": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "payload": payload.hex(), "error": ""}


if __name__ == "__main__":
    print(json.dumps([verify(item["cose"], item["key_pem"]) for item in json.load(sys.stdin)]))
