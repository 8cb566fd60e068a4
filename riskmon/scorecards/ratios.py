"""Ratio characteristics a modeller declares (``--ratio amount/goods_price``), derived row by row before binning.

Why: a points scorecard scores each characteristic on its own, so what two
inputs say only together is lost. On credit_data the batch logistic
regression on raw inputs leans on the amount (+0.74 per standard deviation)
against the price of the good (-0.72): the financed share of the price, which
neither says alone (the price on its own ranks at AUC 0.51). Declared as the
ratio ``amount/features.goods_price`` (the financing ratio, or loan to
value, of purchase finance), it is one more characteristic: binned, weighed, kept or
dropped by its information value like any other, and read at decision time
by the policy with the same rule (:func:`riskmon.ratio_fields.ratio_of`).

Ratios are declared, never searched for: which fields may be divided
(the same money unit, a meaningful share) is the modeller's knowledge, and a
search over all pairs would pick noise.
"""

from __future__ import annotations

from collections.abc import Iterable

from riskmon.ratio_fields import NUMERIC_ROOTS, SEPARATOR, ratio_of, split_ratio
from riskmon.scorecards.data import DataError, History, plain_ref

__all__ = ["parse_ratio", "ratio_column", "with_ratios"]

#: The longest field ref the configuration accepts (``riskmon.config``): the card must load.
MAX_FIELD_LENGTH = 80


def parse_ratio(text: str) -> str:
    """The ratio ref of ``NUMERATOR/DENOMINATOR`` as a user writes it (bare feature names allowed).

    >>> parse_ratio("amount / goods_price")
    'amount/features.goods_price'
    """
    numerator, sep, denominator = (part.strip() for part in text.partition(SEPARATOR))
    if not sep or not numerator or not denominator or SEPARATOR in denominator:
        raise DataError(f"--ratio {text!r}: expected NUMERATOR/DENOMINATOR, two field names")
    numerator, denominator = (p if p in NUMERIC_ROOTS else plain_ref(p) for p in (numerator, denominator))
    ref = f"{numerator}{SEPARATOR}{denominator}"
    if len(ref) > MAX_FIELD_LENGTH:
        raise DataError(f"--ratio {text!r}: {ref} is longer than a configuration field may be ({MAX_FIELD_LENGTH})")
    if split_ratio(ref) is None:  # a part that is no field, e.g. ``features.`` with no name
        raise DataError(f"--ratio {text!r}: not a ratio of two fields")
    return ref


def ratio_column(history: History, ref: str) -> list[float | str | None]:
    """The values of ratio ``ref`` per row of ``history`` (None where a part is missing, not a number, or 0 below)."""
    parts = split_ratio(ref)
    if parts is None:
        raise DataError(f"{ref!r} is not a ratio of two fields")
    columns = []
    for part in parts:
        column = history.columns.get(part)
        if column is None:
            raise DataError(f"ratio {ref}: the history has no column {part}")
        columns.append(column)
    return [
        ratio_of(n if isinstance(n, float) else None, d if isinstance(d, float) else None)
        for n, d in zip(columns[0], columns[1], strict=True)
    ]


def with_ratios(history: History, refs: Iterable[str]) -> History:
    """``history`` with a column per ratio ref added (the caller's history is not changed)."""
    refs = list(refs)
    if not refs:
        return history
    columns = dict(history.columns)
    for ref in refs:
        columns[ref] = ratio_column(history, ref)
    return History(columns=columns, bad=history.bad, skipped=history.skipped)
