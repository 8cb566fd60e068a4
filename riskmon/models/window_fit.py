"""The exact L2 logistic regression on a window of encoded labels: what SGD steps only approach.

Why: one SGD step per label, at a learning rate small enough to stay stable,
leaves an online logistic regression short of the solution a batch fit finds
on the same labels (on the demo's credit_data 0.826 AUC against 0.842). The
learner is off the decision path, so it can afford to solve the regression on
its recent labels now and then, and let the SGD steps carry on from there:
between two solves the model still learns every label as it arrives.

:func:`fit_logistic` is pure (same rows, same weights: scikit-learn's L-BFGS
is deterministic) and takes the rows as the model encodes them (scaled
numerics, one-hot keys at 1.0), so the weights it returns drop straight into
the online model. scikit-learn is imported when a fit runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["fit_logistic"]


def fit_logistic(
    rows: Sequence[Mapping[str, float]], labels: Sequence[bool], *, c: float = 1.0
) -> tuple[dict[str, float], float]:
    """Weights per input key and the intercept of an L2 logistic regression (``C = c``) on ``rows``.

    Keys absent from a row count as 0 (a one-hot key not set, a numeric at
    its mean). Both classes must be present.

    >>> rows = [{"x": float(i % 10) - 4.5} for i in range(200)]
    >>> weights, intercept = fit_logistic(rows, [r["x"] > 2 for r in rows])
    >>> weights["x"] > 1.0, intercept < 0
    (True, True)
    """
    if len(rows) != len(labels):
        raise ValueError(f"fit_logistic: {len(rows)} rows but {len(labels)} labels")
    if not any(labels) or all(labels):
        raise ValueError("fit_logistic: needs both bad and good labels")
    if not c > 0:
        raise ValueError(f"c: must be > 0, got {c!r}")
    from sklearn.linear_model import LogisticRegression

    names, matrix = _sparse(rows)
    model = LogisticRegression(C=c, max_iter=1000)
    model.fit(matrix, [bool(y) for y in labels])
    coefs = model.coef_[0]
    return {name: float(w) for name, w in zip(names, coefs, strict=True) if w}, float(model.intercept_[0])


def _sparse(rows: Sequence[Mapping[str, float]]) -> tuple[list[str], Any]:
    """The rows as a CSR matrix, columns in sorted key order (what scikit-learn's ``DictVectorizer`` gives,
    built directly: about a third of the cost, which mattered, as the vectoriser took half of a fit)."""
    from scipy.sparse import csr_matrix

    names = sorted({key for row in rows for key in row})
    column = {name: i for i, name in enumerate(names)}
    indices: list[int] = []
    data: list[float] = []
    indptr = [0]
    for row in rows:
        for key, value in row.items():
            if value:
                indices.append(column[key])
                data.append(value)
        indptr.append(len(indices))
    return names, csr_matrix((data, indices, indptr), shape=(len(rows), len(names)), dtype=float)
