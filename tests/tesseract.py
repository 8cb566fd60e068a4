"""Tests that run the real Tesseract: they fail (not skip) without it when CI=true.

On a developer's machine without Debian's tesseract-ocr the tests skip with
the install hint; in CI a missing Tesseract is a broken machine, so they fail.
"""

from __future__ import annotations

import os

import pytest

from riskmon.intake.ocr import INSTALL_HINT, tesseract_available

__all__ = ["require_tesseract"]


def require_tesseract() -> None:
    """Skip (fail under ``CI=true``) unless the ``tesseract`` program is installed."""
    if tesseract_available():
        return
    message = f"tesseract is not installed: {INSTALL_HINT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
