"""QR rendering of a permit's payload: alphanumeric mode, ECC level M, 4-module quiet zone.

Images are rendered on demand and never stored. Any failure inside the qrcode library (for
example qrcode 8.2's ValueError('glog(0)') on degenerate input) becomes a RenderError.
"""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
import qrcode.image.svg
from qrcode.util import MODE_ALPHA_NUM, QRData

from keys.errors import Cause, PermitError, Reason

QUIET_ZONE = 4
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


class RenderError(PermitError):
    """A QR image or card could not be rendered from the payload or to the file asked for."""

    reason = Reason.USAGE
    cause = Cause.STORAGE


def make_qr(text: str) -> qrcode.QRCode:
    """Build the QR symbol (smallest version that fits) for a payload."""
    if not text or not set(text) <= _ALNUM:
        raise RenderError("a permit payload must be non-empty QR alphanumeric text", cause=Cause.FORMAT)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE, box_size=8)
    try:
        qr.add_data(QRData(text.encode("ascii"), mode=MODE_ALPHA_NUM))
        qr.make(fit=True)
    except Exception as exc:  # the library raises ValueError, DataOverflowError, ... on bad input
        raise RenderError(f"cannot render the QR code: {exc}") from None
    return qr


def qr_version(text: str) -> int:
    return make_qr(text).version


def png_bytes(text: str, box_size: int = 8) -> bytes:
    qr = make_qr(text)
    qr.box_size = box_size
    buf = io.BytesIO()
    try:
        qr.make_image().save(buf, format="PNG")
    except Exception as exc:
        raise RenderError(f"cannot render the QR image: {exc}") from None
    return buf.getvalue()


def svg_bytes(text: str) -> bytes:
    qr = make_qr(text)
    buf = io.BytesIO()
    try:
        qr.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buf)
    except Exception as exc:
        raise RenderError(f"cannot render the QR image: {exc}") from None
    return buf.getvalue()


def render_file(text: str, path: Path) -> bytes:
    """Render to bytes for `path`, choosing PNG, SVG or the text itself (.txt: what a handheld scanner
    types, one line) from its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return (text + "\n").encode("ascii")
    if suffix == ".png":
        return png_bytes(text)
    if suffix == ".svg":
        return svg_bytes(text)
    raise RenderError(f"unsupported QR file type {suffix or '(none)'}: use .png, .svg or .txt", cause=Cause.FORMAT)
