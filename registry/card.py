"""The printable permit card: an ID-1 card (85.60 x 53.98 mm, ISO/IEC 7810) with the holder's data,
photo and the signed QR code, as a 600 dpi PNG or a PDF page of exactly the card's size.

Rendered with Pillow only. Fonts are looked up on the machine (and first in registry/fonts/):
DejaVu (Debian package fonts-dejavu-core; fonts-dejavu-extra adds the condensed faces) for Latin
text and a CJK font (fonts-wqy-microhei, or fonts-noto-cjk) for the Chinese title, labels and
names. Without them the card still renders with Pillow's built-in font, minus the Chinese text
that font cannot show (a warning is logged once).

The photo is untrusted input: at most 5 MiB, JPEG or PNG only, at most 40 Mpx; anything else is
a RenderError, as is any failure inside Pillow.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from keys.errors import Cause
from keys.permit import Permit
from registry import card_text
from registry.qr import QUIET_ZONE, RenderError, make_qr

__all__ = [
    "CARD_MM",
    "DPI",
    "MAX_PHOTO_BYTES",
    "MAX_PHOTO_PIXELS",
    "MIN_MODULE_MM",
    "card_image",
    "render_card",
    "render_card_file",
]

log = logging.getLogger(__name__)

DPI = 600
PX_PER_MM = DPI / 25.4
CARD_MM = (85.60, 53.98)  # ID-1
CORNER_MM = 3.18  # ID-1 corner radius
CARD_PX = (round(CARD_MM[0] * PX_PER_MM), round(CARD_MM[1] * PX_PER_MM))  # 2022 x 1275

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
PHOTO_FORMATS = ("JPEG", "PNG")

MIN_MODULE_MM = 0.25  # smallest QR module printed
MIN_MODULE_PX = math.ceil(MIN_MODULE_MM * PX_PER_MM)  # 6 px = 0.254 mm
MAX_MODULE_PX = 8  # 0.34 mm

TITLE_ZH, TITLE_EN = card_text.title()

# Layout, in millimetres from the card's top-left corner.
MARGIN = 3.6
HEADER_H = 10.9
PHOTO_BOX = (MARGIN, 12.9, MARGIN + 20.4, 12.9 + 27.2)  # 3:4
GHOST_BOX = (CARD_MM[0] - MARGIN - 9.0, 13.2, CARD_MM[0] - MARGIN, 13.2 + 12.0)
FIELDS_X = 25.8
FIELDS_TOP, FIELDS_BOTTOM = 12.3, 48.0
# The QR code (quiet zone included) sits at the bottom right, with whole device pixels per module: as
# big as fits QR_PREFERRED_MM, but never under MIN_MODULE_MM per module, so a long payload (a high QR
# version) makes the code grow (up to QR_MAX_MM) and the fields beside it narrower.
QR_PREFERRED_MM, QR_MAX_MM = 18.6, 34.0
FOOTER_RULE_Y = 48.7
FOOTER_BASELINE = 51.95
LABEL_CAP, VALUE_CAP, NAME_CAP, NUMBER_CAP = 1.15, 2.2, 2.4, 2.35
MIN_VALUE_CAP = 1.5  # shrink-to-fit floor before giving up on the size and truncating
MIN_CAP = 0.9
DESCENT = 0.33  # of the cap height: how far DejaVu's descenders (g, y, J, comma) reach below the baseline

INK = (22, 22, 26)
LABEL_INK = (112, 72, 52)
HEADER_TOP, HEADER_BOTTOM = (122, 17, 24), (176, 30, 38)
GOLD = (222, 186, 98)
VOID_INK = (200, 16, 24, 200)
PAPER_LEFT, PAPER_RIGHT = (247, 243, 231), (231, 240, 241)



def _px(mm: float) -> int:
    return round(mm * PX_PER_MM)


# ---------------------------------------------------------------- fonts

_FONT_DIRS = (
    Path(__file__).resolve().parent / "fonts",
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
)
# File names in order of preference; the first found wins.
_FONT_FILES = {
    "sans": ("DejaVuSans.ttf", "NotoSans-Regular.ttf", "LiberationSans-Regular.ttf"),
    "sans_bold": ("DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf", "LiberationSans-Bold.ttf"),
    "cond": ("DejaVuSansCondensed.ttf", "NotoSans-Condensed.ttf", "DejaVuSans.ttf", "LiberationSansNarrow-Regular.ttf",
             "LiberationSans-Regular.ttf"),
    "cond_bold": ("DejaVuSansCondensed-Bold.ttf", "NotoSans-CondensedBold.ttf", "DejaVuSans-Bold.ttf",
                  "LiberationSansNarrow-Bold.ttf", "LiberationSans-Bold.ttf"),
    "mono_bold": ("DejaVuSansMono-Bold.ttf", "NotoSansMono-Bold.ttf", "LiberationMono-Bold.ttf"),
    "cjk": ("NotoSansCJKsc-Regular.otf", "NotoSansCJK-Regular.ttc", "SourceHanSansSC-Regular.otf",
            "wqy-microhei.ttc", "wqy-zenhei.ttc", "DroidSansFallbackFull.ttf", "DroidSansFallback.ttf"),
    "cjk_bold": ("NotoSansCJKsc-Bold.otf", "NotoSansCJK-Bold.ttc", "SourceHanSansSC-Bold.otf"),
}
_NOT_A_CHARACTER = "\U0010fffd"  # private use, unassigned: every font draws its .notdef for it


@lru_cache(maxsize=1)
def _installed_fonts() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in _FONT_DIRS:
        try:
            paths = sorted(root.rglob("*"))
        except OSError:
            continue
        for path in paths:
            if path.suffix.lower() in (".ttf", ".ttc", ".otf"):
                found.setdefault(path.name, path)
    return found


@dataclass(frozen=True)
class _Face:
    """One font file (and face in a collection); None is Pillow's built-in font."""

    path: Path | None
    index: int = 0
    fake_bold: bool = False  # draw with a thin stroke: a CJK face with no bold weight

    def font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        return _load_font(self.path, self.index, max(4, size))

    @property
    def cap_ratio(self) -> float:
        return _cap_ratio(self.path, self.index)

    def covers(self, ch: str) -> bool:
        return ch.isspace() or _covers(self.path, self.index, ch)


@lru_cache(maxsize=256)
def _load_font(path: Path | None, index: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size, index=index)


@lru_cache(maxsize=32)
def _cap_ratio(path: Path | None, index: int) -> float:
    font = _load_font(path, index, 200)
    top = font.getbbox("H", anchor="ls")[1] if isinstance(font, ImageFont.FreeTypeFont) else -140
    return max(0.3, -top / 200)


@lru_cache(maxsize=4096)
def _covers(path: Path | None, index: int, ch: str) -> bool:
    font = _load_font(path, index, 48)
    try:
        glyph = font.getmask(ch)
        missing = font.getmask(_NOT_A_CHARACTER)
    except Exception:  # some fonts cannot lay out some characters at all
        return False
    return (glyph.size, bytes(glyph)) != (missing.size, bytes(missing))


def _ttc_index(path: Path) -> int:
    """In a Noto/Source Han CJK collection, the Simplified Chinese face."""
    if path.suffix.lower() != ".ttc":
        return 0
    for index in range(8):
        try:
            family = ImageFont.truetype(str(path), 20, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(" SC"):
            return index
    return 0


@dataclass(frozen=True)
class _Fonts:
    sans: tuple[_Face, ...]
    sans_bold: tuple[_Face, ...]
    cond: tuple[_Face, ...]
    cond_bold: tuple[_Face, ...]
    mono_bold: tuple[_Face, ...]
    cjk: _Face | None
    cjk_bold: _Face | None

    def chain(self, role: str) -> tuple[_Face, ...]:
        """Faces to try, in order, for the characters of a text: the role's face, then CJK, then built-in."""
        faces: tuple[_Face, ...] = getattr(self, role)
        if role in ("cjk", "cjk_bold"):
            faces = tuple(f for f in (self.cjk_bold if role == "cjk_bold" else None, self.cjk) if f is not None)
            faces += self.cond_bold if role == "cjk_bold" else self.cond
        else:
            bold = role.endswith("_bold")
            faces += tuple(f for f in (self.cjk_bold if bold else None, self.cjk) if f is not None)
        return faces or (_Face(None),)


def _find(role: str) -> _Face | None:
    installed = _installed_fonts()
    for name in _FONT_FILES[role]:
        if name in installed:
            path = installed[name]
            return _Face(path, _ttc_index(path))
    return None


@lru_cache(maxsize=1)
def _fonts() -> _Fonts:
    def latin(role: str) -> tuple[_Face, ...]:
        face = _find(role)
        return (face,) if face else ()

    cjk = _find("cjk")
    cjk_bold = _find("cjk_bold") or (_Face(cjk.path, cjk.index, fake_bold=True) if cjk else None)
    fonts = _Fonts(latin("sans"), latin("sans_bold"), latin("cond"), latin("cond_bold"), latin("mono_bold"),
                   cjk, cjk_bold)
    if not fonts.sans:
        log.warning("no DejaVu fonts found (apt-get install fonts-dejavu-core): using Pillow's built-in font")
    if cjk is None:
        log.warning("no CJK font found (apt-get install fonts-wqy-microhei): the card is printed without "
                    "Chinese text")
    return fonts


def has_cjk_font() -> bool:
    """True when Chinese text can be printed (the title, labels and Chinese names)."""
    return _fonts().cjk is not None


# ---------------------------------------------------------------- text


@dataclass(frozen=True)
class _Run:
    text: str
    face: _Face
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont

    @property
    def width(self) -> float:
        return self.font.getlength(self.text)


_PLAIN = {"–": "-", "…": "...", "’": "'", "·": "."}  # stand-ins when no font has the character


def _warn_missing(ch: str) -> None:
    if ch.isprintable() and ch not in _MISSING_WARNED and len(_MISSING_WARNED) < 1000:
        _MISSING_WARNED.add(ch)
        log.warning("no installed font has the character %r (U+%04X): it is left off the card", ch, ord(ch))


_MISSING_WARNED: set[str] = set()


def _runs(text: str, chain: Sequence[_Face], cap_px: float) -> list[_Run]:
    """Split text into runs by the first face of the chain that has each character, all at the same cap height.
    Characters no face has are dropped, so a missing font never prints boxes."""
    runs: list[_Run] = []
    pieces: list[tuple[str, _Face]] = []
    for ch in text:
        face = next((f for f in chain if f.covers(ch)), None)
        if face is None and ch in _PLAIN:
            ch = _PLAIN[ch]
            face = next((f for f in chain if all(f.covers(c) for c in ch)), None)
        if face is None:
            _warn_missing(ch)
            continue
        if pieces and pieces[-1][1] == face:
            pieces[-1] = (pieces[-1][0] + ch, face)
        else:
            pieces.append((ch, face))
    for piece, face in pieces:
        runs.append(_Run(piece, face, face.font(round(cap_px / face.cap_ratio))))
    return runs


def _width(runs: Iterable[_Run]) -> float:
    return sum(r.width for r in runs)


@dataclass(frozen=True)
class _Text:
    runs: list[_Run]
    cap_mm: float

    @property
    def width(self) -> float:
        return _width(self.runs)


def _fit(text: str, chain: Sequence[_Face], cap_mm: float, max_width_px: float | None,
         min_cap_mm: float = MIN_CAP) -> _Text:
    """Lay out text at cap height cap_mm, shrinking it until it fits max_width_px; below min_cap_mm it is
    truncated with an ellipsis instead. Never wider than max_width_px."""
    runs = _runs(text, chain, cap_mm * PX_PER_MM)
    if max_width_px is None:
        return _Text(runs, cap_mm)
    width = _width(runs)
    if width <= max_width_px:
        return _Text(runs, cap_mm)
    cap = max(min_cap_mm, cap_mm * max_width_px / width)
    for _ in range(12):  # rounding of font sizes: step down until it fits
        runs = _runs(text, chain, cap * PX_PER_MM)
        if _width(runs) <= max_width_px or cap <= min_cap_mm:
            break
        cap = max(min_cap_mm, cap * 0.97)
    while text and _width(runs) > max_width_px:
        text = text[:-1].rstrip()
        runs = _runs(text + "…", chain, cap * PX_PER_MM)
    return _Text(runs, cap)


@dataclass
class VectorParts:
    """While a card is drawn for a vector PDF, its text and QR code are recorded here instead of being drawn
    into the raster (which keeps only the background, photo and ornaments): positions in device pixels."""

    draw: ImageDraw.ImageDraw | None = None
    texts: list[tuple[float, float, list[_Run], tuple[int, ...]]] = field(default_factory=list)
    qr: tuple[int, int, int, list[list[bool]]] | None = None  # left, top, module size, dark modules
    void: list[_Run] | None = None  # the VOID mark, drawn corner to corner


_VECTOR: contextvars.ContextVar[VectorParts | None] = contextvars.ContextVar("card_vector_parts", default=None)


def _draw_text(draw: ImageDraw.ImageDraw, x: float, baseline: float, laid: _Text, fill: tuple[int, ...],
               align: str = "left") -> float:
    """Draw at a baseline (pixels); returns the right edge."""
    if align == "right":
        x -= laid.width
    elif align == "center":
        x -= laid.width / 2
    parts = _VECTOR.get()
    if parts is not None and parts.draw is draw:
        parts.texts.append((x, baseline, laid.runs, fill))
        return x + laid.width
    for run in laid.runs:
        stroke = max(1, round(run.font.size / 40)) if run.face.fake_bold and hasattr(run.font, "size") else 0
        draw.text((x, baseline), run.text, font=run.font, fill=fill, anchor="ls", stroke_width=stroke,
                  stroke_fill=fill)
        x += run.width
    return x


def _text(draw: ImageDraw.ImageDraw, x_mm: float, baseline_mm: float, text: str, role: str, cap_mm: float,
          fill: tuple[int, ...], max_width_mm: float | None = None, align: str = "left",
          min_cap_mm: float = MIN_CAP) -> _Text:
    laid = _fit(text, _fonts().chain(role), cap_mm, None if max_width_mm is None else max_width_mm * PX_PER_MM,
                min_cap_mm)
    _draw_text(draw, x_mm * PX_PER_MM, baseline_mm * PX_PER_MM, laid, fill, align)
    return laid


def _label(draw: ImageDraw.ImageDraw, x_mm: float, baseline_mm: float, zh: str, en: str,
           max_width_mm: float | None = None) -> None:
    """A bilingual field label: 中文 English (the Chinese part only when a CJK font is installed)."""
    text = f"{zh} {en}" if has_cjk_font() and zh else en
    _text(draw, x_mm, baseline_mm, text, "sans", LABEL_CAP, LABEL_INK, max_width_mm, min_cap_mm=0.8)


# ---------------------------------------------------------------- drawing


def _gradient(size: tuple[int, int], left: tuple[int, int, int], right: tuple[int, int, int],
              vertical: bool = False) -> Image.Image:
    """A linear gradient, built from a 256-step ramp and resized (cheap)."""
    ramp = Image.linear_gradient("L")  # 256 x 256, black at the top
    if not vertical:
        ramp = ramp.rotate(90, expand=True).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    ramp = ramp.resize(size)
    return Image.composite(Image.new("RGB", size, right), Image.new("RGB", size, left), ramp)


def _guilloche(size: tuple[int, int]) -> Image.Image:
    """A subtle security-print-like background: interleaved sine waves and a rosette, as a translucent layer."""
    w, h = size
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step = 6
    xs = range(-step, w + 2 * step, step)
    for i in range(46):
        y0 = (i - 2) * h / 40
        amp, wave, phase = _px(1.6), _px(13.0), i * 0.55
        for colour, shift in (((150, 70, 60, 44), 0.0), ((40, 120, 130, 44), math.pi)):
            pts = [(x, y0 + amp * math.sin(2 * math.pi * x / wave + phase + shift)
                    + 0.35 * amp * math.sin(2 * math.pi * x / (wave * 0.37) + shift)) for x in xs]
            draw.line(pts, fill=colour, width=2)
    # a rosette (hypotrochoid) behind the data fields
    cx, cy = _px(50.0), _px(30.5)
    big, small, arm = _px(12.5), _px(12.5) * 2 / 9, _px(5.2)
    for k in range(3):
        scale = 1.0 - 0.16 * k
        pts = []
        for j in range(2701):
            t = 2 * math.pi * j / 2700 * 2
            x = (big - small) * math.cos(t) + arm * math.cos((big - small) / small * t)
            y = (big - small) * math.sin(t) - arm * math.sin((big - small) / small * t)
            pts.append((cx + scale * x, cy + scale * y))
        draw.line(pts, fill=(170, 120, 60, 40), width=2)
    return layer


def _emblem(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    """A generic seal: gold rings, a rim of dots and a five-pointed star."""
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=GOLD, width=max(2, round(r / 14)))
    inner = r * 0.82
    draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), outline=GOLD, width=max(1, round(r / 30)))
    for i in range(36):
        a = 2 * math.pi * i / 36
        d = r * 0.91
        dot = r * 0.035
        draw.ellipse((cx + d * math.cos(a) - dot, cy + d * math.sin(a) - dot,
                      cx + d * math.cos(a) + dot, cy + d * math.sin(a) + dot), fill=GOLD)
    star = []
    for i in range(10):
        a = -math.pi / 2 + math.pi * i / 5
        rr = r * (0.62 if i % 2 == 0 else 0.25)
        star.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    draw.polygon(star, fill=GOLD)


def _photo_placeholder(size: tuple[int, int]) -> Image.Image:
    w, h = size
    img = Image.new("RGB", size, (214, 217, 220))
    draw = ImageDraw.Draw(img)
    shade = (178, 182, 187)
    head_r = w * 0.2
    cx, cy = w / 2, h * 0.38
    draw.ellipse((cx - head_r, cy - head_r * 1.15, cx + head_r, cy + head_r * 1.15), fill=shade)
    draw.ellipse((cx - w * 0.42, h * 0.63, cx + w * 0.42, h * 1.25), fill=shade)
    draw.rectangle((0, h * 0.82, w, h), fill=(200, 203, 207))
    laid = _fit("NO PHOTO", _fonts().chain("sans_bold"), 1.6, w * 0.9)
    _draw_text(draw, w / 2, h * 0.82 + (h * 0.18 + laid.cap_mm * PX_PER_MM) / 2, laid, (96, 100, 106), "center")
    return img


def _load_photo(data: bytes, box: tuple[int, int] | None = None) -> Image.Image:
    """Untrusted photo bytes -> RGB image (at least twice `box` when it is that big). Raises RenderError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise RenderError("the photo must be bytes", cause=Cause.FORMAT)
    if len(data) > MAX_PHOTO_BYTES:
        raise RenderError(f"the photo is {len(data)} bytes, more than {MAX_PHOTO_BYTES} ({MAX_PHOTO_BYTES >> 20} MiB)",
                          cause=Cause.FORMAT)
    if not len(data):
        raise RenderError("the photo is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)), formats=PHOTO_FORMATS)
            fmt = img.format
            w, h = img.size
            if fmt not in (*PHOTO_FORMATS, "MPO"):  # MPO: a multi-picture JPEG from a phone camera
                raise RenderError(f"the photo must be a JPEG or PNG image, not {fmt}")
            if w * h > MAX_PHOTO_PIXELS:
                raise RenderError(f"the photo is {w} x {h} pixels, more than {MAX_PHOTO_PIXELS // 1_000_000} Mpx")
            if fmt != "PNG" and box is not None:  # decode a big JPEG at 1/2, 1/4 or 1/8 scale: faster, less memory
                img.draft("RGB", (2 * box[0], 2 * box[1]))
            img.load()
    except RenderError:
        raise
    except Exception as exc:  # UnidentifiedImageError, truncated or corrupt data, decompression bombs, ...
        raise RenderError(f"the photo is not a readable JPEG or PNG image: {type(exc).__name__}: {exc}") from None
    with contextlib.suppress(Exception):  # a corrupt EXIF block: keep the pixels as they are
        img = ImageOps.exif_transpose(img)
    try:
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            img = img.point(lambda v: v / 256).convert("L")
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            img = Image.new("RGB", rgba.size, (255, 255, 255))
            img.paste(rgba, mask=rgba.getchannel("A"))
        return img.convert("RGB")
    except Exception as exc:
        raise RenderError(f"cannot convert the photo: {exc}") from None


def _place_photo(photo: bytes | None, size: tuple[int, int]) -> Image.Image:
    if photo is None:
        return _photo_placeholder(size)
    img = _load_photo(photo, size)
    if img.width < 2 or img.height < 2:
        raise RenderError(f"the photo is only {img.width} x {img.height} pixels")
    return ImageOps.fit(img, size, method=Image.Resampling.LANCZOS, centering=(0.5, 0.4))


def qr_module_px(version: int) -> int:
    """Device pixels per module for a QR version on the card (>= MIN_MODULE_PX, i.e. >= 0.25 mm)."""
    modules = 17 + 4 * version + 2 * QUIET_ZONE
    box = min(MAX_MODULE_PX, max(MIN_MODULE_PX, _px(QR_PREFERRED_MM) // modules))
    if modules * box > _px(QR_MAX_MM):
        raise RenderError(f"the payload needs QR version {version} ({modules} modules with the quiet zone): too big "
                          f"to print on the card with modules of at least {MIN_MODULE_MM} mm")
    return box


def _qr_image(text: str) -> Image.Image:
    """The QR symbol with its quiet zone, whole pixels per module, each module >= 0.25 mm."""
    qr = make_qr(text)
    modules = 17 + 4 * qr.version + 2 * QUIET_ZONE
    matrix = qr.get_matrix()
    if len(matrix) != modules:
        raise RenderError(f"unexpected QR matrix size {len(matrix)} for version {qr.version}")
    box = qr_module_px(qr.version)
    img = Image.new("L", (modules, modules), 255)
    img.putdata([0 if dark else 255 for row in matrix for dark in row])
    return img.resize((modules * box, modules * box), Image.Resampling.NEAREST)


def _ymd(d: date) -> str:
    return f"{d.year:04d}.{d.month:02d}.{d.day:02d}"


# ---------------------------------------------------------------- the card


@dataclass(frozen=True)
class _Row:
    """A stack of fields in the data column: one label line and `lines` value lines."""

    height: float  # mm, label top to the last value's descent
    lines: int = 1


def _void(card: Image.Image, draw: ImageDraw.ImageDraw) -> None:
    """VOID across the face, corner to corner, in red over everything: a void card cannot pass for a real one."""
    w, h = card.size
    diagonal = math.hypot(w, h)
    layer = Image.new("RGBA", (round(diagonal), h), (0, 0, 0, 0))
    layer_draw = ImageDraw.Draw(layer)
    laid = _fit(card_text.void_mark(), _fonts().chain("cjk_bold" if has_cjk_font() else "sans_bold"), 11.0,
                diagonal * 0.8)
    parts = _VECTOR.get()
    if parts is not None:
        parts.void = laid.runs  # drawn as vectors, rotated, by the PDF
        return
    _draw_text(layer_draw, diagonal / 2, h / 2 + laid.cap_mm * PX_PER_MM / 2, laid, VOID_INK, "center")
    rotated = layer.rotate(math.degrees(math.atan2(h, w)), resample=Image.Resampling.BICUBIC, expand=True)
    card.alpha_composite(rotated, ((w - rotated.width) // 2, (h - rotated.height) // 2))
    draw.rectangle((_px(1.2), _px(1.2), w - _px(1.2), h - _px(1.2)), outline=VOID_INK, width=_px(0.8))


def _card(permit: Permit, qr_text: str, photo: bytes | None,
          areas: dict[str, tuple[float, float, float, float]] | None = None, void: bool = False) -> Image.Image:
    """Draw the card. `areas`, when given, receives each data field's allotted box (mm: left, top, right,
    bottom), which its text never leaves."""
    w, h = CARD_PX
    card = _gradient((w, h), PAPER_LEFT, PAPER_RIGHT).convert("RGBA")
    card.alpha_composite(_guilloche((w, h)))
    draw = ImageDraw.Draw(card)
    if _VECTOR.get() is not None:
        _VECTOR.get().draw = draw  # type: ignore[union-attr]

    # header band
    header = _gradient((w, _px(HEADER_H)), HEADER_TOP, HEADER_BOTTOM)
    card.paste(header, (0, 0))
    draw.rectangle((0, _px(HEADER_H), w, _px(HEADER_H + 0.35)), fill=GOLD)
    _emblem(draw, _px(MARGIN + 3.3), _px(HEADER_H / 2), _px(3.7))
    title_x = MARGIN + 8.2
    title_w = CARD_MM[0] - MARGIN - title_x
    if has_cjk_font():
        _text(draw, title_x + title_w / 2, 5.35, TITLE_ZH, "cjk_bold", 3.05, (255, 255, 255), title_w,
              align="center")
        _text(draw, title_x + title_w / 2, 8.85, TITLE_EN, "cond_bold", 1.3, GOLD, title_w, align="center")
    else:
        _text(draw, title_x + title_w / 2, 6.9, TITLE_EN, "cond_bold", 1.9, (255, 255, 255), title_w,
              align="center")

    # photo, and its faint "ghost image" at the top right, as on real ID cards
    px0, py0, px1, py1 = (_px(v) for v in PHOTO_BOX)
    placed = _place_photo(photo, (px1 - px0, py1 - py0))
    card.paste(placed, (px0, py0))
    if photo is not None:
        gx0, gy0, gx1, gy1 = (_px(v) for v in GHOST_BOX)
        ghost = ImageOps.grayscale(placed.resize((gx1 - gx0, gy1 - gy0), Image.Resampling.LANCZOS))
        ghost = ImageOps.colorize(ghost, (90, 60, 50), (255, 255, 255)).convert("RGBA")
        ghost.putalpha(ImageOps.invert(ImageOps.grayscale(ghost)).point(lambda v: v * 0.4))
        card.alpha_composite(ghost, (gx0, gy0))
    draw.rectangle((px0 - 2, py0 - 2, px1 + 1, py1 + 1), outline=(150, 140, 125), width=2)

    # QR code, bottom right, on its own white quiet zone
    qr = _qr_image(qr_text)
    qr_right, qr_bottom = w - _px(MARGIN), _px(FIELDS_BOTTOM + 0.15)
    qr_left, qr_top = qr_right - qr.width, qr_bottom - qr.height
    parts = _VECTOR.get()
    if parts is None:
        card.paste(qr.convert("RGBA"), (qr_left, qr_top))
    else:  # the PDF draws the modules as vectors on a white quiet zone
        matrix = make_qr(qr_text).get_matrix()
        parts.qr = (qr_left, qr_top, qr.width // len(matrix), matrix)
    qr_left_mm, qr_top_mm = qr_left / PX_PER_MM, qr_top / PX_PER_MM

    # the data column
    right = CARD_MM[0] - MARGIN
    beside_qr = qr_left_mm - 1.6  # right edge of fields that sit beside the QR code
    label_to_value = 0.75  # gap, mm, between the label's baseline and the top of the value's capitals
    above_value = LABEL_CAP + 0.3 + label_to_value  # row top to the top of the value's capitals
    rows: list[tuple[str, float]] = [("name", above_value + NAME_CAP + 1.0 + NAME_CAP + DESCENT * NAME_CAP)]
    chinese = permit.chinese_name if has_cjk_font() else None
    if permit.chinese_name and not has_cjk_font():
        log.warning("no CJK font: permit %s is printed without its Chinese name", permit.number)
    if chinese:
        rows.append(("chinese", above_value + VALUE_CAP * 1.2 + 0.35))
    rows += [(k, above_value + VALUE_CAP + DESCENT * VALUE_CAP) for k in ("sex", "nationality", "valid", "number")]
    natural = sum(hgt for _, hgt in rows)
    gap = min(2.4, (FIELDS_BOTTOM - FIELDS_TOP - natural) / len(rows))
    gap = max(gap, 0.0)
    top = FIELDS_TOP + 0.25 + gap / 2 + (FIELDS_BOTTOM - FIELDS_TOP - natural - gap * len(rows)) / 2
    x = FIELDS_X
    last_label_bl = last_value_bl = 0.0
    for kind, height in rows:
        label_bl = top + LABEL_CAP + 0.3  # room for the taller Chinese label glyphs
        value_top = label_bl + label_to_value
        # fields that reach below the QR's top edge stop beside it
        width = (beside_qr if top + height > qr_top_mm - 0.3 else right) - x
        if kind == "name":
            _label(draw, x, label_bl, "姓名", "Name", width)
            surname, given = permit.surname.strip(), permit.given_names.strip()
            lines = [f"{surname}," if given else surname, given]
            # both lines at one size: that of the longer one, shrunk to fit the width
            cap = min(_fit(line, _fonts().chain("cond_bold"), NAME_CAP, width * PX_PER_MM).cap_mm for line in lines)
            pitch = cap + 1.0 * cap / NAME_CAP
            first = value_top + (2 * NAME_CAP + 1.0 - cap - pitch) / 2 + cap  # centred in the two-line slot
            for i, line in enumerate(lines):
                _text(draw, x, first + i * pitch, line, "cond_bold", cap, INK, width)
        elif kind == "chinese" and chinese:
            _label(draw, x, label_bl, "中文姓名", "Chinese name", width)
            _text(draw, x, value_top + VALUE_CAP * 1.2, chinese, "cjk_bold", VALUE_CAP * 1.2, INK, width)
        elif kind == "sex":
            sex = card_text.sex(permit.sex)
            sex_text = f"{sex[0]}/{sex[1]}" if has_cjk_font() and sex[0] else sex[1]
            dob_x = x + 12.0 * min(1.0, width / 34.0)  # closer when a big QR code sits beside this row
            _label(draw, x, label_bl, "性别", "Sex", dob_x - x - 1)
            _text(draw, x, value_top + VALUE_CAP, sex_text, "cond_bold", VALUE_CAP, INK, dob_x - x - 1)
            _label(draw, dob_x, label_bl, "出生日期", "Date of birth", x + width - dob_x)
            _text(draw, dob_x, value_top + VALUE_CAP, _ymd(permit.birth_date), "cond_bold", VALUE_CAP, INK,
                  x + width - dob_x)
        elif kind == "nationality":
            _label(draw, x, label_bl, "国籍", "Nationality", width)
            # the code at full size; the country name, when known, shrinks or is cut short to fit
            code = _text(draw, x, value_top + VALUE_CAP, permit.nationality, "cond_bold", VALUE_CAP, INK, width)
            zh_name, en_name = card_text.nationality(permit.nationality)
            name = " ".join(n for n in (zh_name if has_cjk_font() else None, en_name) if n)
            name_x = x + code.width / PX_PER_MM + 1.8
            if name and x + width - name_x > 5:
                _text(draw, name_x, value_top + VALUE_CAP, name, "cond", VALUE_CAP, INK, x + width - name_x,
                      min_cap_mm=MIN_VALUE_CAP)
        elif kind == "valid":
            _label(draw, x, label_bl, "有效期限", "Valid from – until", width)
            _text(draw, x, value_top + VALUE_CAP, f"{_ymd(permit.issue_date)} – {_ymd(permit.expiry_date)}",
                  "cond_bold", VALUE_CAP, INK, width)
        elif kind == "number":
            _label(draw, x, label_bl, "证件号码", "Permit No.", width)
            _text(draw, x, value_top + NUMBER_CAP, permit.number, "mono_bold", NUMBER_CAP, INK, width)
            last_label_bl, last_value_bl = label_bl, value_top + NUMBER_CAP
        if areas is not None:
            areas[kind] = (x, top, x + width, top + height)
        top += height + gap

    # category, under the photo, level with the permit number
    below_w = PHOTO_BOX[2] - PHOTO_BOX[0]
    _label(draw, MARGIN, last_label_bl, "类别", "Category", below_w)
    zh_category, en_category = card_text.category(permit.category)
    category = f"{zh_category} {en_category}" if zh_category and has_cjk_font() else en_category
    _text(draw, MARGIN, last_value_bl, category, "cond_bold", VALUE_CAP, INK, below_w)

    # bottom line: the issuing authority, and the card serial at the right
    draw.rectangle((_px(MARGIN), _px(FOOTER_RULE_Y), w - _px(MARGIN), _px(FOOTER_RULE_Y) + 2), fill=(170, 140, 80))
    footer_label = LABEL_CAP * 1.15
    serial = _text(draw, right, FOOTER_BASELINE, str(permit.card), "mono_bold", 2.0, INK, 22, align="right")
    serial_x = right - serial.width / PX_PER_MM - 1.2
    label = "卡序号 Card serial" if has_cjk_font() else "Card serial"
    serial_label = _text(draw, serial_x, FOOTER_BASELINE, label, "sans", footer_label, LABEL_INK, 20, align="right")
    serial_x -= serial_label.width / PX_PER_MM + 3.0
    label = "签发机关 Issuing authority" if has_cjk_font() else "Issuing authority"
    laid = _text(draw, MARGIN, FOOTER_BASELINE, label, "sans", footer_label, LABEL_INK, 30)
    start = MARGIN + laid.width / PX_PER_MM + 1.2
    zh_authority, en_authority = card_text.authority(permit.authority)
    authority = f"{zh_authority if has_cjk_font() else en_authority} {permit.authority}" if zh_authority else \
        permit.authority
    _text(draw, start, FOOTER_BASELINE, authority, "cond_bold", 2.0, INK, serial_x - start, min_cap_mm=1.2)
    if void:
        _void(card, draw)

    # rounded corners, with a fine edge line for cutting
    radius = _px(CORNER_MM)
    mask = Image.new("L", (w * 2, h * 2), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w * 2 - 1, h * 2 - 1), radius=radius * 2, fill=255)
    mask = mask.resize((w, h), Image.Resampling.LANCZOS)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=radius, outline=(150, 140, 125), width=2)
    card.putalpha(mask)
    return card


def card_image(permit: Permit, qr_text: str, photo: bytes | None = None, void: bool = False) -> Image.Image:
    """The card as an RGBA image (transparent outside the rounded corners), 600 dpi. Raises RenderError."""
    try:
        return _card(permit, qr_text, photo, void=void)
    except RenderError:
        raise
    except Exception as exc:  # anything inside Pillow
        raise RenderError(f"cannot render the card: {type(exc).__name__}: {exc}") from None


def card_layers(permit: Permit, qr_text: str, photo: bytes | None = None, void: bool = False
                ) -> tuple[Image.Image, VectorParts]:
    """For the vector PDF: the card's background (ornaments, photo; no text, no QR code) and its text runs
    and QR modules, laid out exactly as on the PNG."""
    parts = VectorParts()
    token = _VECTOR.set(parts)
    try:
        return card_image(permit, qr_text, photo, void), parts
    finally:
        _VECTOR.reset(token)


def ensure_printable(number: str, state: str, current: bool, void: bool) -> None:
    """No card is printed for a permit that is not active, or for a card that is not the current one, unless
    it is marked VOID across the face. Raises RenderError saying why."""
    if void or (state == "active" and current):
        return
    what = f"permit {number} is {state}" if state != "active" else f"this card of permit {number} is superseded"
    raise RenderError(f"{what}: no card is printed for it; use --void to print it marked VOID")


def render_card(permit: Permit, qr_text: str, photo: bytes | None, fmt: str, void: bool = False) -> bytes:
    """The card as PNG (600 dpi, 2022 x 1275 px) or as a one-page vector PDF of the card's physical size."""
    fmt = fmt.lower() if isinstance(fmt, str) else fmt
    if fmt not in ("png", "pdf"):
        raise RenderError(f"unsupported card format {fmt!r}: use 'png' or 'pdf'")
    if fmt == "pdf":
        from registry.card_pdf import render_pdf

        return render_pdf(permit, qr_text, photo, void)
    img = card_image(permit, qr_text, photo, void)
    buf = io.BytesIO()
    try:
        img.save(buf, format="PNG", dpi=(DPI, DPI), optimize=False, compress_level=6)
    except Exception as exc:
        raise RenderError(f"cannot encode the card as PNG: {exc}") from None
    return buf.getvalue()


def render_card_file(permit: Permit, qr_text: str, photo: bytes | None, path: Path, void: bool = False) -> bytes:
    """Render to bytes for `path` (not written), choosing PNG or PDF from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".pdf"):
        raise RenderError(f"unsupported card file type {suffix or '(none)'}: use .png or .pdf", cause=Cause.FORMAT)
    return render_card(permit, qr_text, photo, suffix[1:], void)
