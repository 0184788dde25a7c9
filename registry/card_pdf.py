"""The card as a vector PDF: one page of the card's physical size (ID-1), its text drawn with embedded
(subset) TrueType fonts, so it stays sharp and searchable, and its QR code drawn as filled rectangles, one
path, never through lossy compression. Only the background (guilloche, header band, seal, photo and its
ghost) is a picture, a JPEG at BACKGROUND_DPI. The layout is the PNG's, recorded while it is drawn
(registry.card.card_layers), so both formats show the same card. Written with ReportLab.
"""

from __future__ import annotations

import io
import logging
import math
from functools import lru_cache
from pathlib import Path

from PIL import Image
from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

from keys.permit import Permit
from registry.card import CARD_MM, DPI, VOID_INK, VectorParts, _Run, card_layers
from registry.qr import RenderError

log = logging.getLogger(__name__)
PT = 72 / DPI  # points per device pixel of the layout
MM = 72 / 25.4
BACKGROUND_DPI = 250
BACKGROUND_QUALITY = 75
FALLBACK_FONT = "Helvetica"  # PDF standard font, for Pillow's built-in font (no font file to embed)


@lru_cache(maxsize=32)
def _font(path: Path | None, index: int) -> str:
    """The ReportLab name of a font file (registered once), or the standard font when it cannot be embedded
    (no file, or PostScript outlines ReportLab cannot subset)."""
    if path is None:
        return FALLBACK_FONT
    name = f"F{abs(hash((str(path), index))):x}"
    try:
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=index))
    except (TTFError, OSError) as exc:
        log.warning("cannot embed %s in the PDF (%s): its text uses %s", path.name, exc, FALLBACK_FONT)
        return FALLBACK_FONT
    return name


def _rgb(c: canvas.Canvas, fill: tuple[int, ...]) -> None:
    c.setFillColorRGB(fill[0] / 255, fill[1] / 255, fill[2] / 255, alpha=(fill[3] / 255) if len(fill) > 3 else 1)
    c.setStrokeColorRGB(fill[0] / 255, fill[1] / 255, fill[2] / 255, alpha=(fill[3] / 255) if len(fill) > 3 else 1)


def _runs(c: canvas.Canvas, x_pt: float, y_pt: float, runs: list[_Run], outline: bool = True) -> None:
    """Runs at a baseline, each at the x the raster layout gave it."""
    for run in runs:
        size = getattr(run.font, "size", 10) * PT
        text = c.beginText(x_pt, y_pt)
        text.setFont(_font(run.face.path, run.face.index), size)
        if run.face.fake_bold and outline:  # as on the PNG: a CJK face without a bold weight, drawn with a thin outline
            c.setLineWidth(max(1, round(run.font.size / 40)) * PT)
            text.setTextRenderMode(2)
        text.textOut(run.text)
        c.drawText(text)
        x_pt += run.width * PT


def _qr(c: canvas.Canvas, height_px: int, left: int, top: int, module: int, matrix: list[list[bool]]) -> None:
    """The QR code: a white square (its quiet zone included), then every dark module as one filled path, rows
    merged into runs, on whole device pixels of the 600 dpi layout."""
    size = len(matrix) * module
    c.setFillColorRGB(1, 1, 1)
    c.rect(left * PT, (height_px - top - size) * PT, size * PT, size * PT, stroke=0, fill=1)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        col = 0
        while col < len(row):
            if not row[col]:
                col += 1
                continue
            start = col
            while col < len(row) and row[col]:
                col += 1
            x, y = left + start * module, height_px - top - (r + 1) * module
            path.rect(x * PT, y * PT, (col - start) * module * PT, module * PT)
    c.setFillColorRGB(0, 0, 0)
    c.drawPath(path, stroke=0, fill=1)


def _void(c: canvas.Canvas, runs: list[_Run], w_pt: float, h_pt: float) -> None:
    _rgb(c, VOID_INK)
    c.saveState()
    c.translate(w_pt / 2, h_pt / 2)
    c.rotate(math.degrees(math.atan2(h_pt, w_pt)))
    width = sum(r.width for r in runs) * PT
    cap = max(getattr(r.font, "size", 10) for r in runs) * PT * 0.72
    _runs(c, -width / 2, -cap / 2, runs, outline=False)  # a translucent outline would show as a second line
    c.restoreState()
    c.setLineWidth(0.8 * MM)
    c.rect(1.2 * MM + 0.4 * MM, 1.2 * MM + 0.4 * MM, w_pt - 3.2 * MM, h_pt - 3.2 * MM, stroke=1, fill=0)


def _background(img: Image.Image) -> bytes:
    page = Image.new("RGB", img.size, (255, 255, 255))
    page.paste(img, mask=img.getchannel("A"))
    scale = BACKGROUND_DPI / DPI
    page = page.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    page.save(buf, format="JPEG", quality=BACKGROUND_QUALITY, optimize=True, dpi=(BACKGROUND_DPI, BACKGROUND_DPI))
    return buf.getvalue()


def render_pdf(permit: Permit, qr_text: str, photo: bytes | None, void: bool = False) -> bytes:
    """The card as a one-page vector PDF. Raises RenderError."""
    background, parts = card_layers(permit, qr_text, photo, void)
    a85 = rl_config.useA85
    rl_config.useA85 = 0  # the JPEG as it is (DCTDecode), not 25 % bigger in ASCII85
    try:
        return _pdf(background, parts, permit)
    except RenderError:
        raise
    except Exception as exc:  # anything inside ReportLab or Pillow
        raise RenderError(f"cannot write the card as PDF: {type(exc).__name__}: {exc}") from None
    finally:
        rl_config.useA85 = a85


def _pdf(background: Image.Image, parts: VectorParts, permit: Permit) -> bytes:
    w_pt, h_pt = CARD_MM[0] * MM, CARD_MM[1] * MM
    height_px = background.height
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(w_pt, h_pt), pageCompression=1, invariant=1)
    c.setTitle("Foreign Permanent Resident ID Card")
    c.setSubject(f"Permit {permit.number}, card {permit.card}")
    c.setCreator("permit-registry")
    c.drawImage(ImageReader(io.BytesIO(_background(background))), 0, 0, w_pt, h_pt)
    for x, baseline, runs, fill in parts.texts:
        _rgb(c, fill)
        _runs(c, x * PT, (height_px - baseline) * PT, runs)
    if parts.qr is None:
        raise RenderError("the card's layout placed no QR code")
    _qr(c, height_px, *parts.qr)
    if parts.void:
        _void(c, parts.void, w_pt, h_pt)
    c.showPage()
    c.save()
    return buf.getvalue()
