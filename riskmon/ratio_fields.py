"""Ratio fields: ``NUMERATOR/DENOMINATOR``, one field divided by another, read where a field is named.

Why: a scorecard adds up points per characteristic, one at a time, so it
cannot see what two inputs say together. A logistic regression on the raw
inputs can (on credit_data it weighs the amount up and the price of the good
down by nearly the same amount: what matters is the share of the price that
is financed). Risk teams derive such ratios as characteristics of their own
(loan to value, expenses to income), as the contract already derives
``loan_to_income``. A ratio ref names two numeric fields, each a contract
root or ``features.<name>`` (``amount/features.goods_price``); the fit
(:mod:`riskmon.scorecards.fit`), the policy and the points card all compute
it with :func:`ratio_of`, so the card is scored as it was fitted.

No riskmon import: the configuration, the decisioning and the scorecard fit
all read it.
"""

from __future__ import annotations

import math

__all__ = ["SEPARATOR", "NUMERIC_ROOTS", "split_ratio", "ratio_of"]

SEPARATOR = "/"
#: Contract fields a ratio may divide (and ``loan_to_income``, itself derived).
NUMERIC_ROOTS = ("amount", "term_months", "annual_income", "loan_to_income")


def _plain(ref: str) -> bool:
    return ref in NUMERIC_ROOTS or (ref.startswith("features.") and len(ref) > len("features."))


def split_ratio(ref: str) -> tuple[str, str] | None:
    """``(numerator, denominator)`` of a ratio ref, or None when ``ref`` is not one.

    A ratio ref has one ``/`` between two plain refs (a numeric contract root
    or ``features.<name>``); anything else (``features.a/b``: a feature whose
    name holds a slash) is not a ratio.

    >>> split_ratio("amount/features.goods_price"), split_ratio("features.a/b"), split_ratio("amount")
    (('amount', 'features.goods_price'), None, None)
    """
    if ref.count(SEPARATOR) != 1:
        return None
    numerator, _, denominator = ref.partition(SEPARATOR)
    return (numerator, denominator) if _plain(numerator) and _plain(denominator) else None


def ratio_of(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; None (missing) when either is missing, the denominator is 0, or it is not finite.

    >>> ratio_of(800.0, 1000.0), ratio_of(800.0, 0.0), ratio_of(None, 2.0)
    (0.8, None, None)
    """
    if numerator is None or denominator is None or denominator == 0:
        return None
    value = numerator / denominator
    return value if math.isfinite(value) else None
