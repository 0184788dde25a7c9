"""The card as a vector PDF (text and QR code as vectors, under 200 KB, the QR decoded from the page as
poppler rasterises it), Chinese values beside the Latin ones, and no card for a permit that is not active
unless it is marked VOID across the face."""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import make_permit
from office_adapters import enrol
from PIL import Image, ImageDraw, ImageFilter
from test_registry_cli import FLAGS, TOKENS, approved, run

from registry import card, card_text
from registry.card import RenderError, render_card

zxingcpp = pytest.importorskip("zxingcpp")
pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None and os.environ.get("CI") != "true",
                                reason="poppler-utils is not installed (scripts/setup installs it)")
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_RNG = random.Random(11)
QR_TEXT = "PR1:" + "".join(_RNG.choice(_ALNUM) for _ in range(256))
MULLER = make_permit(surname="MÜLLER", given_names="ANNA MARIA", chinese_name="穆安娜", nationality="DEU",
                     category="employment", sex="F")


def _photo() -> bytes:
    """A photo-like JPEG: smooth shapes and sensor noise (the worst case for the PDF's size)."""
    rng = random.Random(3)
    img = Image.new("RGB", (900, 1200), (120, 140, 170))
    draw = ImageDraw.Draw(img)
    draw.ellipse((250, 200, 650, 700), fill=(225, 185, 160))
    draw.ellipse((120, 760, 780, 1500), fill=(40, 50, 80))
    noise = Image.frombytes("L", (900, 1200), bytes(rng.randrange(256) for _ in range(900 * 1200)))
    img = Image.blend(img, Image.merge("RGB", (noise, noise, noise)), 0.12).filter(ImageFilter.GaussianBlur(0.6))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def _pages(pdf: bytes, tmp_path: Path, dpi: int = 300) -> Image.Image:
    (tmp_path / "card.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(tmp_path / "card.pdf"),
                    str(tmp_path / "page")], check=True)
    return Image.open(tmp_path / "page.png")


def _text(pdf: bytes, tmp_path: Path, *options: str) -> str:
    (tmp_path / "t.pdf").write_bytes(pdf)
    return subprocess.run(["pdftotext", *options, str(tmp_path / "t.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout


def _red(img: Image.Image) -> int:
    data = img.convert("RGB").tobytes()
    return sum(1 for i in range(0, len(data), 3) if data[i] > 150 and data[i + 1] < 110 and data[i + 2] < 110)


def _decode(img: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_pdf_is_under_200_kb_and_its_qr_decodes_from_the_rasterised_page(tmp_path: Path) -> None:
    pdf = render_card(MULLER, QR_TEXT, _photo(), "pdf")
    assert len(pdf) < 200_000, len(pdf)
    for dpi in (300, 600):  # modules are 0.25-0.34 mm: a scanner or printer at 300 dpi and more
        assert _decode(_pages(pdf, tmp_path, dpi)) == [QR_TEXT], dpi


def test_text_and_qr_are_vectors_not_pictures(tmp_path: Path) -> None:
    pdf = render_card(MULLER, QR_TEXT, None, "pdf")
    assert pdf.count(b"/Subtype /Image") == 1  # the background only
    background = Image.open(io.BytesIO(pdf[pdf.index(b"\xff\xd8\xff"):]))
    assert _decode(background) == []  # the QR code is not in the picture: it is drawn as vectors
    text = _text(pdf, tmp_path)  # real text, in embedded fonts
    for words in (MULLER.number, "MÜLLER", "ANNA MARIA", "穆安娜", "德国", "Germany", "任职", "EMPLOYMENT",
                  "中华人民共和国国家移民管理局", "外国人永久居留身份证", "2036.01.14"):
        assert words in text, words
    assert re.search(rb"/FontFile2 \d+ 0 R", pdf)  # TrueType outlines embedded (subset)


def test_chinese_values_beside_the_latin_ones() -> None:
    assert card_text.nationality("DEU") == ("德国", "Germany")
    assert card_text.nationality("NGA") == ("尼日利亚", "Nigeria")
    assert card_text.category("family") == ("家庭团聚", "FAMILY")
    assert card_text.authority("NIA") == ("中华人民共和国国家移民管理局",
                                          "National Immigration Administration of the People's Republic of China")
    assert card_text.authority("XYZ") == (None, None)  # an unknown authority prints its code alone


def test_void_card_is_marked_across_the_face(tmp_path: Path) -> None:
    plain = card.card_image(MULLER, QR_TEXT).convert("RGB")
    void = card.card_image(MULLER, QR_TEXT, void=True).convert("RGB")
    w, h = plain.size

    def red(img: Image.Image, x: float, y: float) -> int:
        return _red(img.crop((int(x * w) - 40, int(y * h) - 40, int(x * w) + 40, int(y * h) + 40)))

    for x, y in ((0.25, 0.7), (0.5, 0.5), (0.75, 0.3)):  # along the diagonal, bottom left to top right
        assert red(void, x, y) > 5 * red(plain, x, y) + 50, (x, y)
    pdf = render_card(MULLER, QR_TEXT, None, "pdf", void=True)
    assert "VOID" in _text(pdf, tmp_path, "-raw")  # the mark is text, drawn corner to corner
    page = _pages(pdf, tmp_path, 150)
    pw, ph = page.size
    assert _red(page.crop((pw // 2 - 30, ph // 2 - 30, pw // 2 + 30, ph // 2 + 30))) > 100


@pytest.mark.parametrize(("state", "current", "void", "refused"), [
    ("active", True, False, False), ("revoked", True, False, True), ("suspended", True, False, True),
    ("expired", True, False, True), ("active", False, False, True), ("revoked", True, True, False),
    ("active", False, True, False),
])
def test_only_an_active_permits_current_card_prints_without_void(state: str, current: bool, void: bool,
                                                                 refused: bool) -> None:
    if refused:
        with pytest.raises(RenderError, match="--void"):
            card.ensure_printable("911840199001010018", state, current, void)
    else:
        card.ensure_printable("911840199001010018", state, current, void)


def test_registry_card_refuses_a_revoked_permit_unless_void(registry_home: Path, tmp_path: Path) -> None:
    TOKENS.clear()
    TOKENS.update(enrol(registry_home))
    n = approved(registry_home, "issue", *FLAGS)
    run(registry_home, "card", n, "-o", str(tmp_path / "ok.pdf"))
    assert (tmp_path / "ok.pdf").read_bytes().startswith(b"%PDF-")
    assert "card 2" in run(registry_home, "renew", n).output
    old = run(registry_home, "card", n, "--card", "1", "-o", str(tmp_path / "old.png"), ok=False)
    assert old.exit_code == 1 and "superseded" in str(old.exception or old.output)
    approved(registry_home, "revoke", n, "--reason", "fraud", who="officer")
    refused = run(registry_home, "card", n, "-o", str(tmp_path / "revoked.pdf"), ok=False)
    assert refused.exit_code == 1 and not (tmp_path / "revoked.pdf").exists()  # nothing written
    marked = run(registry_home, "card", n, "-o", str(tmp_path / "revoked.pdf"), "--void")
    assert "marked VOID" in marked.output
    assert "VOID" in _text((tmp_path / "revoked.pdf").read_bytes(), tmp_path, "-raw")
