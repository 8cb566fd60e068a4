"""The standard application form, blank or filled, clean or degraded.

Why: tests, the demo and the accuracy benchmark need scanned forms whose true
values are known. :func:`fill_form` draws the standard form (the layout the
shipped template ``forms/application-v1.yaml`` reads) filled from one of the
demo's public applications (:mod:`riskmon.demo.data`), with a synthetic
applicant (the public data sets hold no names). :func:`degrade` makes it look
scanned badly: a slight rotation, blur, sensor noise and heavy JPEG
compression, each drawn from a seeded generator so a form is reproducible.

Pages are A4 at :data:`~riskmon.intake.pages.RENDER_DPI` (150 dpi), drawn in
DejaVu Serif (Debian's ``fonts-dejavu-core``; Pillow's own font when it is
missing, which OCR reads less well: it draws l and I alike).
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from riskmon.intake.fields import phone_digits
from riskmon.intake.pages import RENDER_DPI
from riskmon.intake.template import Template, standard_template

__all__ = ["FilledForm", "blank_form", "degrade", "encode", "fill_form", "form_values"]

PAGE_SIZE = (int(8.27 * RENDER_DPI), int(11.69 * RENDER_DPI))  # A4
_LABEL_X, _VALUE_X, _LINE_END = 90, 560, 1150
_ROW, _FONT_SIZE = 62, 30
_SECTIONS = {  # section heading printed before the field that opens it
    "application_id": "1. Application",
    "product": "2. Loan requested",
    "annual_income": "3. Income and employment",
    "applicant.name": "4. Applicant (personal data)",
}
_FIRST = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken", "Radia", "Tim")
_LAST = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Thompson")


@dataclass(frozen=True)
class FilledForm:
    """A drawn form and the contract values it shows (template field name -> value)."""

    image: Image.Image
    expected: dict[str, Any]


#: Debian's fonts-dejavu-core: a serif face keeps l, I and 1 (and O and 0) apart for OCR.
FORM_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Serif when installed (scripts/bootstrap.sh installs it), else the font Pillow ships."""
    try:
        return ImageFont.truetype(FORM_FONT, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _money(value: float) -> str:
    return f"{value:,.2f}"


def synthetic_applicant(application_id: str) -> dict[str, str]:
    """A made-up applicant for a public application (the data sets name no one), stable per id."""
    digest = hashlib.sha256(application_id.encode()).digest()
    first, last = _FIRST[digest[0] % len(_FIRST)], _LAST[digest[1] % len(_LAST)]
    number = int.from_bytes(digest[2:5], "big") % 10_000
    return {
        "name": f"{first} {last}",
        "phone": f"+1 555 01{digest[5] % 100:02d} {number:04d}",
        "email": f"{first.lower()}.{last.lower()}@example.com",
    }


def form_values(application: dict[str, Any], template: Template | None = None) -> dict[str, tuple[str, Any]]:
    """Template field name -> (the text printed on the form, the contract value it stands for).

    Fields the application does not have are left out (printed blank).
    """
    template = template or standard_template()
    applicant = application.get("applicant") or synthetic_applicant(application["application_id"])
    out: dict[str, tuple[str, Any]] = {}
    for spec in template.fields:
        head, _, rest = spec.name.partition(".")
        if head == "features":
            value = (application.get("features") or {}).get(rest)
        elif head == "applicant":
            value = applicant.get(rest)
        else:
            value = application.get(spec.name)
        if value is None:
            continue
        if spec.type == "money":
            out[spec.name] = (_money(float(value)), float(value))
        elif spec.type == "timestamp":
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            out[spec.name] = (moment.strftime("%Y-%m-%d %H:%M:%S"), moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif spec.type == "phone":
            out[spec.name] = (str(value), phone_digits(str(value)))
        elif spec.type == "choice":
            printed = next((text for text, v in spec.choices.items() if v == value), None)
            if printed is not None:
                out[spec.name] = (printed, value)
        else:
            out[spec.name] = (str(value), value)
    return out


def _draw(template: Template, printed: dict[str, str]) -> Image.Image:
    page = Image.new("L", PAGE_SIZE, 255)
    draw = ImageDraw.Draw(page)
    draw.text((_LABEL_X, 70), template.title, font=_font(44), fill=0)
    draw.text((_LABEL_X, 130), f"Form {template.id} - print clearly, one value per line", font=_font(24), fill=60)
    y = 190
    font = _font(_FONT_SIZE)
    for spec in template.fields:
        heading = _SECTIONS.get(spec.name)
        if heading:
            y += 24
            draw.text((_LABEL_X, y), heading, font=_font(34), fill=0)
            y += _ROW
        if spec.label is not None:
            draw.text((_LABEL_X, y), spec.label, font=font, fill=0)
        draw.line((_VALUE_X - 10, y + 40, _LINE_END, y + 40), fill=200, width=2)
        text = printed.get(spec.name)
        if text:
            draw.text((_VALUE_X, y), text, font=font, fill=0)
        y += _ROW
    draw.text((_LABEL_X, PAGE_SIZE[1] - 110), "Signature of applicant:", font=_font(24), fill=60)
    draw.line((_VALUE_X - 10, PAGE_SIZE[1] - 80, _LINE_END, PAGE_SIZE[1] - 80), fill=120, width=2)
    return page


def blank_form(template: Template | None = None) -> Image.Image:
    """The standard form with every value line empty."""
    return _draw(template or standard_template(), {})


def fill_form(application: dict[str, Any], template: Template | None = None) -> FilledForm:
    """The standard form filled from ``application`` (a contract application dict)."""
    template = template or standard_template()
    values = form_values(application, template)
    image = _draw(template, {name: printed for name, (printed, _) in values.items()})
    return FilledForm(image=image, expected={name: value for name, (_, value) in values.items()})


def degrade(image: Image.Image, seed: int | str, *, strength: float = 1.0) -> Image.Image:
    """``image`` as a poor scan: rotated, blurred, noisy and JPEG-compressed (reproducible per ``seed``).

    ``strength`` scales every effect (1.0: rotation up to 3 degrees, blur
    radius 0.5 to 1.3, noise sigma 6 to 24, JPEG quality 12 to 40).
    """
    rng = random.Random(f"riskmon-intake-degrade:{seed}")
    angle = rng.uniform(-3.0, 3.0) * strength
    out = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.3) * strength))
    pixels = np.asarray(out, dtype=np.float64)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0.0, rng.uniform(6, 24) * strength, pixels.shape)
    out = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8), mode="L")
    quality = max(5, int(rng.randint(12, 40) / max(strength, 0.1)))
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=min(quality, 95))
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def encode(image: Image.Image, fmt: str) -> bytes:
    """``image`` as a ``png``, ``jpeg`` or one-page ``pdf`` file (at the form's resolution)."""
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, format="PNG", optimize=True)
    elif fmt == "jpeg":
        image.save(buffer, format="JPEG", quality=85)
    elif fmt == "pdf":
        image.save(buffer, format="PDF", resolution=float(RENDER_DPI))
    else:
        raise ValueError(f"unknown format {fmt!r}; expected png, jpeg or pdf")
    return buffer.getvalue()
