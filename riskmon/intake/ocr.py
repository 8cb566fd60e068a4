"""The one module that calls Tesseract: a page image into words with confidences.

Tesseract is Debian's ``tesseract-ocr`` (with ``tesseract-ocr-eng``), driven
through ``pytesseract``. Each page is read once, as a whole (page segmentation
mode 4: a single column of text lines, which is what a form is), and every
word comes back with its box and Tesseract's confidence (0 to 100).

Tesseract parallelises one page over OpenMP threads; on a small shared
machine that only adds contention, so each call is limited to one thread
(``OMP_THREAD_LIMIT=1`` unless set already). Run several documents side by
side for throughput instead.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from PIL import Image

__all__ = ["OcrUnavailable", "Word", "read_line", "read_words", "tesseract_available", "tesseract_version"]

_CONFIG = "--psm 4 -c preserve_interword_spaces=0"
INSTALL_HINT = "install Debian's tesseract-ocr and tesseract-ocr-eng (scripts/bootstrap.sh does)"


class OcrUnavailable(RuntimeError):
    """Tesseract cannot run on this machine (not installed, or no English data)."""


@dataclass(frozen=True, slots=True)
class Word:
    """One word Tesseract read: text, confidence 0-100, box in pixels, page index."""

    text: str
    confidence: float
    left: int
    top: int
    width: int
    height: int
    page: int = 0

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height

    @property
    def middle(self) -> float:
        return self.top + self.height / 2


def tesseract_available() -> bool:
    """True when the ``tesseract`` program is on the PATH."""
    return shutil.which("tesseract") is not None


def tesseract_version() -> str:
    """Tesseract's version, e.g. ``5.3.0``; :class:`OcrUnavailable` when it is missing."""
    import pytesseract

    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError:
        raise OcrUnavailable(f"tesseract is not installed: {INSTALL_HINT}") from None


def read_line(image: Image.Image, region: tuple[int, int, int, int], *, scale: int = 1) -> list[Word]:
    """The words of one line of text in ``region`` (left, top, right, bottom) of ``image``, read on their own.

    A second, independent look (page segmentation mode 7: one text line) at
    a value the whole-page read was unsure of; ``scale`` enlarges the crop
    first (blurred small print often reads better larger).
    """
    left, top, right, bottom = region
    pad = max(6, (bottom - top) // 2)
    crop = image.crop((max(0, left - pad), max(0, top - pad), right + pad, bottom + pad))
    if scale > 1:
        crop = crop.resize((crop.width * scale, crop.height * scale), Image.Resampling.LANCZOS)
    return read_words(crop, config="--psm 7")


def read_words(image: Image.Image, page: int = 0, *, config: str = _CONFIG) -> list[Word]:
    """Every word Tesseract finds on ``image``, in reading order."""
    import pytesseract

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        data = pytesseract.image_to_data(
            image, lang="eng", config=config, output_type=pytesseract.Output.DICT, timeout=120
        )
    except pytesseract.TesseractNotFoundError:
        raise OcrUnavailable(f"tesseract is not installed: {INSTALL_HINT}") from None
    except pytesseract.TesseractError as exc:
        raise OcrUnavailable(f"tesseract failed (status {exc.status}); {INSTALL_HINT}") from None
    words = []
    for i, text in enumerate(data["text"]):
        text = text.strip()
        confidence = float(data["conf"][i])
        if not text or confidence < 0:
            continue
        words.append(
            Word(
                text=text,
                confidence=confidence,
                left=int(data["left"][i]),
                top=int(data["top"][i]),
                width=int(data["width"][i]),
                height=int(data["height"][i]),
                page=page,
            )
        )
    return words
