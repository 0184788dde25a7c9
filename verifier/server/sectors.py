"""What each sector of caller may see, how old a status list it accepts, and its rate limit.

A hotel registers guests (name, number, nationality, sex, birth date); rail ticketing only needs to
know a booking's name and number match; a bank identifies customers (every holder field); an
insurer needs name, number and birth date. Staleness: banks check against status at most an hour
old, the others accept a day (they also see STATUS_STALE in the result when it is older).
"""

from __future__ import annotations

from dataclasses import dataclass

HOLDER = frozenset({"number", "card", "surname", "given_names", "chinese_name", "sex", "birth_date", "nationality",
                    "category", "authority", "issue_date", "expiry_date"})


@dataclass(frozen=True)
class Sector:
    name: str
    fields: frozenset[str]
    max_status_age: int  # seconds
    rate: float  # requests per second per key, sustained
    burst: int


SECTORS: dict[str, Sector] = {
    "bank": Sector("bank", HOLDER, 3600, 200.0, 400),
    "hotel": Sector("hotel", frozenset({"number", "surname", "given_names", "chinese_name", "nationality", "sex",
                                        "birth_date", "expiry_date"}), 86400, 50.0, 100),
    "rail": Sector("rail", frozenset(), 86400, 200.0, 400),
    "insurer": Sector("insurer", frozenset({"number", "surname", "given_names", "birth_date", "expiry_date"}), 86400,
                      50.0, 100),
    "other": Sector("other", frozenset({"number", "surname", "given_names"}), 3600, 20.0, 40),
}
