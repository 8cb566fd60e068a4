"""Find each template field's printed value among the words OCR read.

Pure code over :class:`~riskmon.intake.ocr.Word` lists, so it is tested
without Tesseract. A field anchored by a ``label`` takes the words to the
right of that label on the same text line (a word belongs to the line when
its vertical middle lies within the label's height); a field with a ``box``
takes the words whose middle lies in that part of the page. Labels are
matched loosely (case, punctuation and one misread letter in a few are
forgiven), values never are: :mod:`riskmon.intake.fields` checks them.

The value's confidence is its least confident word: one doubtful digit makes
the whole amount doubtful.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from riskmon.intake.ocr import Word
from riskmon.intake.template import FieldSpec

__all__ = ["Located", "locate"]

_LABEL_MATCH = 0.8


@dataclass(frozen=True, slots=True)
class Located:
    """What was found for one field: ``found`` False when its label is not on the page."""

    text: str
    confidence: float | None
    found: bool
    region: tuple[int, int, int, int, int] | None = None  # page, left, top, right, bottom of the value's words


def _plain(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())


def _label_span(words: Sequence[Word], start: int, label: str) -> tuple[int, float] | None:
    """(number of words, similarity) of the best match of ``label`` starting at ``words[start]``."""
    target = _plain(label)
    best: tuple[int, float] | None = None
    text = ""
    for count in range(1, len(label.split()) + 2):
        if start + count > len(words):
            break
        word = words[start + count - 1]
        if count > 1 and word.page != words[start].page:
            break
        text += _plain(word.text)
        ratio = SequenceMatcher(None, text, target).ratio()
        if best is None or ratio > best[1]:
            best = (count, ratio)
        if len(text) > len(target) + 3:
            break
    return best


def _find_label(words: Sequence[Word], label: str) -> tuple[int, int] | None:
    """Indices [first, last] of the words that print ``label``; None if it is not there."""
    best: tuple[int, int, float] | None = None
    for start in range(len(words)):
        span = _label_span(words, start, label)
        if span is not None and span[1] >= _LABEL_MATCH and (best is None or span[1] > best[2]):
            best = (start, start + span[0] - 1, span[1])
    return None if best is None else (best[0], best[1])


def _value_words(words: Sequence[Word], label: Sequence[Word]) -> list[Word]:
    """The words right of the label, on its line, in left-to-right order."""
    page = label[0].page
    top = min(w.top for w in label)
    bottom = max(w.bottom for w in label)
    right = max(w.right for w in label)
    slack = (bottom - top) * 0.25
    inline = [
        w
        for w in words
        if w.page == page and w.left >= right - 2 and top - slack <= w.middle <= bottom + slack and w not in label
    ]
    inline.sort(key=lambda w: w.left)
    # stop at a wide gap: a second column's label is not this field's value
    out: list[Word] = []
    for w in inline:
        if out and w.left - out[-1].right > 12 * (bottom - top):
            break
        out.append(w)
    return out


def _box_words(words: Sequence[Word], box: tuple[float, float, float, float], size: tuple[int, int]) -> list[Word]:
    width, height = size
    left, top, right, bottom = box[0] * width, box[1] * height, box[2] * width, box[3] * height
    inside = [w for w in words if w.page == 0 and left <= w.left + w.width / 2 <= right and top <= w.middle <= bottom]
    return sorted(inside, key=lambda w: (round(w.middle / max(w.height, 1)), w.left))


def _located(value: Sequence[Word], found: bool = True) -> Located:
    if not value:
        return Located(text="", confidence=None, found=found)
    region = (
        value[0].page,
        min(w.left for w in value),
        min(w.top for w in value),
        max(w.right for w in value),
        max(w.bottom for w in value),
    )
    return Located(
        text=" ".join(w.text for w in value), confidence=min(w.confidence for w in value), found=found, region=region
    )


def locate(words: Sequence[Word], spec: FieldSpec, page_size: tuple[int, int]) -> Located:
    """The text printed for ``spec`` and its confidence.

    >>> from riskmon.intake.template import FieldSpec
    >>> line = [Word("Term", 96, 100, 200, 60, 30), Word("in", 95, 170, 200, 25, 30),
    ...         Word("months:", 96, 205, 200, 120, 30), Word("36", 71.0, 600, 202, 40, 29)]
    >>> locate(line, FieldSpec("term_months", "integer", True, label="Term in months:"), (1240, 1754))
    Located(text='36', confidence=71.0, found=True, region=(0, 600, 202, 640, 231))
    """
    if spec.box is not None:
        return _located(_box_words(words, spec.box, page_size))
    assert spec.label is not None
    span = _find_label(words, spec.label)
    if span is None:
        return Located(text="", confidence=None, found=False)
    label = list(words[span[0] : span[1] + 1])
    return _located(_value_words(words, label))
