"""Reading a permit's QR code from an image file (photo or scan) with zxing-cpp (the `scan` extra)."""

from __future__ import annotations

from pathlib import Path

from keys.errors import Cause, FormatError, PermitError, Reason, StorageError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 25_000_000  # a 24-megapixel phone photo; more is refused from the header, before decoding


def read_qr_text(image: Path | bytes) -> str:
    """The text of the first QR code in an image. Raises FormatError for anything unreadable."""
    try:
        import io

        import zxingcpp
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise PermitError("reading images needs the scan extra: pip install 'permit-registry[scan]'", Reason.USAGE,
                          cause=Cause.CONFIG) from None
    try:
        data = image if isinstance(image, bytes) else Path(image).read_bytes()
    except OSError as exc:
        raise StorageError(f"cannot read image {image}: {exc.strerror}") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise FormatError(f"image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise FormatError(f"image has more than {MAX_PIXELS} pixels")
            img = img.convert("L")
            results = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    except FormatError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise FormatError(f"not a readable image: {type(exc).__name__}") from None
    for result in results:
        if result.valid and result.text:
            return result.text
    raise FormatError("no QR code found in the image")
