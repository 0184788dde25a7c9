"""Whether two spellings of a person's name are the same name: the Latin one on the permit, a passport's
machine-readable zone (MRZ), or a booking form's, in any case, with or without diacritics, given names
first or surname first.

Folding (both sides): Unicode compatibility forms (full-width letters) -> the MRZ's filler `<` and any
punctuation become spaces -> German and Nordic letters both ways their MRZ transliteration allows
(ICAO Doc 9303 Part 3 §6: Ä -> AE or A, Ö -> OE or O, Ü -> UE or U, ß -> SS, Å -> AA, Æ -> AE, Ø -> OE,
Þ -> TH) -> every other diacritic dropped -> upper case. Two names match when some folding of each gives
the same words in the same order, or the surname's words and the given names' words swapped (a form
that puts the given names first). A Chinese name matches the permit's Chinese name exactly (ignoring
spaces and the middle dot of transliterated foreign names).
"""

from __future__ import annotations

import itertools
import unicodedata

# ICAO 9303 transliterations with two accepted forms: (long form, short form).
_TWO_WAYS = {"Ä": ("AE", "A"), "Ö": ("OE", "O"), "Ü": ("UE", "U"), "Å": ("AA", "A")}
_ONE_WAY = {"Æ": "AE", "Ø": "OE", "Œ": "OE", "Þ": "TH", "Ð": "D", "Đ": "D", "Ł": "L", "Ħ": "H",
            "Ŧ": "T", "Ŋ": "N", "Ĳ": "IJ"}
_MAX_VARIANTS = 64
_SEPARATORS = "·・‧•"


def _words(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def foldings(name: str) -> set[str]:
    """Every accepted folding of a name (at most 64), upper-case words separated by single spaces."""
    upper = "".join(_ONE_WAY.get(c, c) for c in _words(name).upper())  # upper(): ß -> SS, ø -> Ø, ...
    options = [_TWO_WAYS.get(ch, (ch,)) for ch in upper]
    out: set[str] = set()
    for combo in itertools.islice(itertools.product(*options), _MAX_VARIANTS):
        out.add(" ".join(_plain("".join(combo)).split()))
    return out


def _chinese(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text) if not c.isspace() and c not in _SEPARATORS)


def is_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text)


def name_matches(claimed: str, surname: str, given_names: str, chinese_name: str | None = None) -> bool:
    """Does the claimed name (Latin, MRZ or Chinese) name the holder of these signed names?"""
    if not isinstance(claimed, str) or not claimed.strip() or len(claimed) > 300:
        return False
    if is_cjk(claimed):
        return chinese_name is not None and _chinese(claimed) == _chinese(chinese_name)
    mrz = claimed.replace("<<", "  ") if "<" in claimed else claimed
    wanted = foldings(mrz)
    holder = foldings(f"{surname} {given_names}") | foldings(f"{given_names} {surname}")
    return bool(wanted & holder)
