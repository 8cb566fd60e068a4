"""Document bytes into upright page images, ready for OCR.

A document is a PNG, a JPEG or a PDF, told apart by its first bytes (never by
its name). PDF pages are rasterised by PDFium (the self-contained
``pypdfium2`` wheel; no poppler). Each page is then turned to greyscale and
straightened: a scanned page is rarely level, and a label and its value must
end up on one text line. The skew is found by the projection profile (the
angle at which the rows of ink are sharpest), within +-5 degrees.

Nothing here reads the text; :mod:`riskmon.intake.ocr` does.
"""

from __future__ import annotations

import hashlib
import io
import warnings

import numpy as np
from PIL import Image

__all__ = [
    "DocumentError",
    "MAX_DOCUMENT_BYTES",
    "MAX_PAGES",
    "RENDER_DPI",
    "content_hash",
    "document_kind",
    "load_pages",
    "deskew",
]

#: Largest document accepted (bytes); larger ones are refused before decoding.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
#: Pages read from one document; an application form has one or two.
MAX_PAGES = 4
#: Resolution PDF pages are rasterised at (the generator draws images at this too).
RENDER_DPI = 150
_MAX_PIXELS = 40_000_000
_SKEW_LIMIT, _SKEW_STEP = 5.0, 0.25


class DocumentError(ValueError):
    """The bytes are not a document intake can read (wrong kind, too large, damaged)."""


def content_hash(data: bytes) -> str:
    """The document's identity in dead letters and results: ``sha256:<hex>``, never the image."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def document_kind(data: bytes) -> str:
    """``png``, ``jpeg`` or ``pdf`` from the first bytes; :class:`DocumentError` for anything else.

    >>> document_kind(b"%PDF-1.4 ..."), document_kind(b"\\x89PNG\\r\\n\\x1a\\n...")
    ('pdf', 'png')
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    raise DocumentError("not a PNG, JPEG or PDF document")


def _pdf_pages(data: bytes) -> list[Image.Image]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"damaged PDF ({exc})") from None
    try:
        if len(pdf) == 0:
            raise DocumentError("the PDF has no pages")
        pages = []
        for index in range(min(len(pdf), MAX_PAGES)):
            page = pdf[index]
            width, height = page.get_size()
            if width * height * (RENDER_DPI / 72) ** 2 > _MAX_PIXELS:
                raise DocumentError(f"page {index + 1} is too large to read")
            pages.append(page.render(scale=RENDER_DPI / 72, grayscale=True).to_pil().convert("L"))
        return pages
    finally:
        pdf.close()


def _image_pages(data: bytes) -> list[Image.Image]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > _MAX_PIXELS:
                raise DocumentError("the image is too large to read")
            image.load()
    except (OSError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DocumentError(f"damaged image ({type(exc).__name__})") from None
    return [image.convert("L")]


def deskew(page: Image.Image) -> Image.Image:
    """``page`` (greyscale) rotated so that its text lines are level."""
    small = page.copy()
    small.thumbnail((700, 700))
    ink = small.point(lambda v: 255 if v < 140 else 0)
    best_angle, best_score = 0.0, -1.0
    steps = int(_SKEW_LIMIT / _SKEW_STEP)
    for i in range(-steps, steps + 1):
        angle = i * _SKEW_STEP
        rows = np.asarray(ink.rotate(angle, resample=Image.Resampling.NEAREST), dtype=np.float64).sum(axis=1)
        score = float(np.square(np.diff(rows)).sum())
        if score > best_score:
            best_angle, best_score = angle, score
    if best_angle == 0.0:
        return page
    return page.rotate(best_angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def load_pages(data: bytes) -> list[Image.Image]:
    """The document's pages as upright greyscale images (at most :data:`MAX_PAGES`)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    kind = document_kind(data)
    pages = _pdf_pages(data) if kind == "pdf" else _image_pages(data)
    return [deskew(page) for page in pages]
