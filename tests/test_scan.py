"""Reading QR codes from images: clean renders, rotated and noisy photos, and bad files."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from helpers import Issuer
from PIL import Image, ImageFilter

from keys.errors import FormatError, StorageError
from registry.qr import RenderError, png_bytes, qr_version, render_file, svg_bytes
from verifier.scan import read_qr_text


def _photo(text: str, angle: float, noise: int, seed: int) -> bytes:
    """A photo-like picture: the code rotated, blurred, on a grey background, with pixel noise."""
    rng = random.Random(seed)
    code = Image.open(io.BytesIO(png_bytes(text, box_size=4))).convert("L")
    canvas = Image.new("L", (code.width + 200, code.height + 200), 170)
    canvas.paste(code, (100, 100))
    img = canvas.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=170).filter(ImageFilter.GaussianBlur(1))
    pixels = img.load()
    for _ in range(img.width * img.height // 10):
        x, y = rng.randrange(img.width), rng.randrange(img.height)
        pixels[x, y] = max(0, min(255, pixels[x, y] + rng.randint(-noise, noise)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def test_clean_png_round_trip(issuer: Issuer) -> None:
    text = issuer.sign()
    assert read_qr_text(png_bytes(text)) == text
    assert qr_version(text) <= 10


@pytest.mark.parametrize(("angle", "noise"), [(0, 40), (7, 40), (33, 60), (90, 30), (180, 60), (-21, 80)])
def test_rotated_noisy_photos(issuer: Issuer, angle: float, noise: int) -> None:
    text = issuer.sign()
    assert read_qr_text(_photo(text, angle, noise, seed=angle)) == text


def test_files_on_disk(issuer: Issuer, tmp_path: Path) -> None:
    text = issuer.sign()
    png = tmp_path / "permit.png"
    png.write_bytes(render_file(text, png))
    assert read_qr_text(png) == text
    assert svg_bytes(text).startswith(b"<?xml")
    with pytest.raises(RenderError, match=r"\.gif"):
        render_file(text, tmp_path / "permit.gif")


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50])
def test_unreadable_images(data: bytes) -> None:
    with pytest.raises(FormatError):
        read_qr_text(data)


def test_image_without_a_code() -> None:
    buf = io.BytesIO()
    Image.new("L", (300, 300), 255).save(buf, format="PNG")
    with pytest.raises(FormatError, match="no QR code"):
        read_qr_text(buf.getvalue())


def test_missing_file_is_a_storage_fault_not_a_malformed_code(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot read") as info:
        read_qr_text(tmp_path / "absent.png")
    assert not isinstance(info.value, FormatError) and info.value.cause == "storage"


@pytest.mark.parametrize("text", ["", "lower case", "PR1:\u00e9", "A" * 5000])
def test_render_refuses_bad_text_with_own_error(text: str) -> None:
    with pytest.raises(RenderError):
        png_bytes(text)
