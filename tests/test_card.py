"""The printable card: size at 600 dpi, the QR on it scans back, the PDF page is the card's physical size,
long names shrink instead of overflowing, the photo is placed, and hostile photos are refused."""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import pytest
from helpers import make_permit
from PIL import Image, ImageChops, ImageDraw

from registry import card
from registry.card import CARD_PX, PX_PER_MM, RenderError, card_image, render_card, render_card_file
from registry.qr import make_qr

zxingcpp = pytest.importorskip("zxingcpp")

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
QR_TEXT = "PR1:" + "".join(random.Random(7).choice(_ALNUM) for _ in range(246))
assert len(QR_TEXT) == 250


def _decode(img: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)]


def _box(box_mm: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    return tuple(round(v * PX_PER_MM) for v in box_mm)  # type: ignore[return-value]


def _photo(fmt: str = "JPEG", size: tuple[int, int] = (600, 800), colour: tuple[int, ...] = (40, 90, 200)) -> bytes:
    img = Image.new("RGB", size, colour)
    ImageDraw.Draw(img).ellipse((size[0] // 4, size[1] // 5, 3 * size[0] // 4, 3 * size[1] // 5), fill=(230, 190, 160))
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.fixture
def no_fonts(monkeypatch):
    """No font files at all: Pillow's built-in font only (and so no Chinese)."""
    monkeypatch.setattr(card, "_FONT_DIRS", ())
    card._installed_fonts.cache_clear()
    card._fonts.cache_clear()
    yield
    card._installed_fonts.cache_clear()
    card._fonts.cache_clear()


# ------------------------------------------------------------------ PNG


@pytest.mark.parametrize("chinese_name", ["史密斯", None])
def test_png_is_600_dpi_id1_and_its_qr_scans(chinese_name: str | None) -> None:
    data = render_card(make_permit(chinese_name=chinese_name), QR_TEXT, None, "png")
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    assert img.size == CARD_PX == (2022, 1275)  # 85.60 x 53.98 mm at 600 dpi
    assert img.info["dpi"] == pytest.approx((600, 600), abs=0.01)
    assert _decode(img) == [QR_TEXT]
    # rounded corners: transparent outside, opaque inside
    assert img.getpixel((0, 0))[3] == 0 and img.getpixel((img.width - 1, img.height - 1))[3] == 0
    assert img.getpixel((img.width // 2, img.height // 2))[3] == 255


def test_a_real_signed_payload_scans(issuer) -> None:
    permit = make_permit()
    text = issuer.sign(permit)
    assert _decode(card_image(permit, text)) == [text]


@pytest.mark.parametrize("text_len", [250, 373, 600])
def test_qr_modules_are_at_least_a_quarter_millimetre(text_len: int) -> None:
    text = "PR1:" + "A" * (text_len - 4)
    version = make_qr(text).version
    modules = 17 + 4 * version + 8
    box = card.qr_module_px(version)
    assert box / PX_PER_MM >= 0.25
    img = card_image(make_permit(), text)
    [result] = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    assert result.text == text
    # the symbol zxing found (without quiet zone) measures (modules - 8) modules of `box` pixels
    width = result.position.top_right.x - result.position.top_left.x + 1
    assert width == pytest.approx((modules - 8) * box, abs=2)


def test_a_payload_too_big_for_the_card_is_refused() -> None:
    with pytest.raises(RenderError, match="too big"):
        render_card(make_permit(), "PR1:" + "A" * 3000, None, "png")


def test_bad_qr_text_is_a_render_error() -> None:
    with pytest.raises(RenderError):
        render_card(make_permit(), "pr1:lower case", None, "png")


# ------------------------------------------------------------------ long names


def _diff_bbox_mm(a: Image.Image, b: Image.Image) -> tuple[float, ...]:
    bbox = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox()
    assert bbox is not None
    return tuple(v / PX_PER_MM for v in bbox)


@pytest.mark.parametrize(
    ("surname", "given_names"),
    [
        ("MONTGOMERY-FITZWILLIAMS", "ALEXANDRA JANE"),  # 40 characters with the comma and space
        ("WOLFESCHLEGELSTEINHAUSENBERGERDORFFVONEN", "MARIA"),  # a 40-character surname
        ("X" * 100, "Y" * 100),  # the most the wire allows
    ],
)
@pytest.mark.parametrize("chinese_name", ["欧阳娜娜", None])
def test_a_long_name_shrinks_to_fit_its_field(surname: str, given_names: str, chinese_name: str | None) -> None:
    short = card_image(make_permit(surname="LI", given_names="NA", chinese_name=chinese_name), QR_TEXT)
    areas: dict[str, tuple[float, float, float, float]] = {}
    long = card._card(make_permit(surname=surname, given_names=given_names, chinese_name=chinese_name), QR_TEXT,
                      None, areas)
    left, top, right, bottom = _diff_bbox_mm(short, long)
    # only the name's lines changed, and only inside the name's box: the data column, above the next field
    x0, y0, x1, y1 = areas["name"]
    assert x1 <= card.CARD_MM[0] - card.MARGIN
    assert x0 - 0.1 <= left and right <= x1 + 0.05 and y0 <= top and bottom <= y1
    next_field = "chinese" if chinese_name else "sex"
    assert bottom < areas[next_field][1]
    assert _decode(long) == [QR_TEXT]


def test_fit_never_exceeds_the_width_and_keeps_full_size_when_it_can() -> None:
    chain = card._fonts().chain("cond_bold")
    assert card._fit("SMITH", chain, 2.4, 40 * PX_PER_MM).cap_mm == 2.4
    name = "MONTGOMERY-FITZWILLIAMS, ALEXANDRA JANE"
    for width_mm in (20, 35, 55):
        laid = card._fit(name, chain, 2.4, width_mm * PX_PER_MM)
        assert laid.width <= width_mm * PX_PER_MM
        assert laid.cap_mm <= 2.4


# ------------------------------------------------------------------ PDF


def test_pdf_is_one_page_of_the_cards_physical_size() -> None:
    data = render_card(make_permit(), QR_TEXT, None, "pdf")
    assert data.startswith(b"%PDF-")
    [box] = re.findall(rb"/MediaBox\s*\[\s*([\d.\s]+)\]", data)
    x0, y0, x1, y1 = (float(v) for v in box.split())
    width_mm, height_mm = (x1 - x0) / 72 * 25.4, (y1 - y0) / 72 * 25.4
    assert width_mm == pytest.approx(85.6, abs=0.05)
    assert height_mm == pytest.approx(53.98, abs=0.05)
    assert len(re.findall(rb"/Type /Page\b", data)) == 1
    # the text and the QR code are vectors (tests/test_card_pdf.py): only the background is a picture


def test_render_card_file_chooses_by_suffix() -> None:
    permit = make_permit()
    assert render_card_file(permit, QR_TEXT, None, Path("card.PNG")).startswith(b"\x89PNG\r\n\x1a\n")
    assert render_card_file(permit, QR_TEXT, None, Path("out/card.pdf")).startswith(b"%PDF-")
    for name in ("card.svg", "card.jpg", "card"):
        with pytest.raises(RenderError, match=r"unsupported card file type .*\.png or \.pdf"):
            render_card_file(permit, QR_TEXT, None, Path(name))


def test_unknown_format_is_refused() -> None:
    with pytest.raises(RenderError, match="unsupported card format"):
        render_card(make_permit(), QR_TEXT, None, "svg")


# ------------------------------------------------------------------ photo


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_photo_is_placed_in_its_box(fmt: str) -> None:
    permit = make_permit()
    placeholder = card_image(permit, QR_TEXT, None)
    with_photo = card_image(permit, QR_TEXT, _photo(fmt))
    box = _box(card.PHOTO_BOX)
    a, b = placeholder.crop(box).convert("RGB"), with_photo.crop(box).convert("RGB")
    assert ImageChops.difference(a, b).getbbox() is not None
    # the photo's blue background shows in the box's top corner, where the placeholder is grey
    r, _, blue = b.getpixel((10, 10))
    assert blue > 150 and r < 100
    assert _decode(with_photo) == [QR_TEXT]


def test_a_landscape_photo_is_cropped_to_3_by_4() -> None:
    img = card_image(make_permit(), QR_TEXT, _photo("PNG", size=(1600, 600)))
    x0, y0, x1, y1 = _box(card.PHOTO_BOX)
    assert (x1 - x0) / (y1 - y0) == pytest.approx(3 / 4, abs=0.01)
    # the face (centre) is kept and the box is filled to its edges with the photo, not letterboxed
    r, g, b = img.getpixel(((x0 + x1) // 2, (y0 + y1) // 2))[:3]
    assert (r, g, b) == pytest.approx((230, 190, 160), abs=12)
    assert img.getpixel((x0 + 3, y1 - 3))[2] > 150


def test_a_transparent_png_photo_is_placed_on_white() -> None:
    img = Image.new("RGBA", (300, 400), (0, 0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    placed = card_image(make_permit(), QR_TEXT, buf.getvalue())
    assert placed.crop(_box(card.PHOTO_BOX)).convert("L").getextrema()[0] > 240


@pytest.mark.parametrize(
    "photo",
    [
        b"not an image at all",
        b"",
        _photo("JPEG")[:200],  # truncated
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # a PNG signature and garbage
        _photo("GIF"),
        _photo("BMP"),
        _photo("TIFF"),
    ],
    ids=["text", "empty", "truncated-jpeg", "bad-png", "gif", "bmp", "tiff"],
)
def test_a_corrupt_or_unsupported_photo_is_a_render_error(photo: bytes) -> None:
    with pytest.raises(RenderError, match="photo"):
        render_card(make_permit(), QR_TEXT, photo, "png")


def test_a_photo_over_5_mib_is_refused_before_decoding() -> None:
    with pytest.raises(RenderError, match="MiB"):
        render_card(make_permit(), QR_TEXT, b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024), "png")


def test_a_photo_over_40_megapixels_is_refused() -> None:
    buf = io.BytesIO()
    Image.new("1", (8000, 5001)).save(buf, format="PNG")  # 40 Mpx and a bit, a few kilobytes of PNG
    assert len(buf.getvalue()) < 1024 * 1024
    with pytest.raises(RenderError, match="Mpx"):
        render_card(make_permit(), QR_TEXT, buf.getvalue(), "png")


def test_a_photo_that_is_not_bytes_is_refused() -> None:
    with pytest.raises(RenderError):
        render_card(make_permit(), QR_TEXT, "photo.jpg", "png")  # type: ignore[arg-type]


# ------------------------------------------------------------------ robustness


def test_pillow_failures_become_render_errors(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise OSError("simulated Pillow failure")

    monkeypatch.setattr(card, "_guilloche", broken)
    with pytest.raises(RenderError, match="simulated Pillow failure"):
        render_card(make_permit(), QR_TEXT, None, "png")


def test_unknown_nationality_prints_the_code() -> None:
    assert card.card_text.nationality("XXX") == (None, None)
    assert _decode(card_image(make_permit(nationality="XXX"), QR_TEXT)) == [QR_TEXT]


def test_without_any_font_file_the_card_still_renders(no_fonts) -> None:
    assert not card.has_cjk_font()
    for chinese_name in ("史密斯", None):
        img = Image.open(io.BytesIO(render_card(make_permit(chinese_name=chinese_name), QR_TEXT, None, "png")))
        assert img.size == CARD_PX
        assert _decode(img) == [QR_TEXT]
    assert render_card(make_permit(), QR_TEXT, None, "pdf").startswith(b"%PDF-")


def test_text_outside_every_font_is_left_out_not_boxed(no_fonts) -> None:
    chain = card._fonts().chain("cond_bold")
    laid = card._fit("AB史C–D", chain, 2.2, None)
    assert "".join(r.text for r in laid.runs) in ("ABC-D", "ABC–D")


@pytest.mark.skipif(not card.has_cjk_font(), reason="no CJK font installed (apt-get install fonts-wqy-microhei)")
def test_the_chinese_name_is_printed_when_a_cjk_font_is_installed() -> None:
    with_name = card_image(make_permit(chinese_name="史密斯"), QR_TEXT)
    without = card_image(make_permit(chinese_name=None), QR_TEXT)
    assert ImageChops.difference(with_name.convert("RGB"), without.convert("RGB")).getbbox() is not None
    chain = card._fonts().chain("cjk_bold")
    assert "".join(r.text for r in card._fit("史密斯", chain, 2.6, None).runs) == "史密斯"


def test_field_text_is_at_least_2_mm_high_at_print_size() -> None:
    fonts = card._fonts()
    for role, cap in (("cond_bold", card.VALUE_CAP), ("cond_bold", card.NAME_CAP), ("mono_bold", card.NUMBER_CAP),
                      ("cond", card.VALUE_CAP)):
        [run] = card._fit("H", fonts.chain(role), cap, None).runs
        _, top, _, bottom = run.font.getbbox("H", anchor="ls")
        assert (bottom - top) / PX_PER_MM >= 2.0, role
