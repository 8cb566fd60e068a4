"""Reason codes: from a model input's name to a stable code and plain words.

Why: an adverse-action notice must name the factors that were actually scored,
in words an applicant understands, and risk-ops tools aggregate decisions by
code. The online models speak the same codes as the hand-set scorecard of
``riskmon/default_config.yaml`` (``LOAN_TO_INCOME``, ``DEBT_TO_INCOME``,
``DELINQUENCIES``, ``CREDIT_INQUIRIES``, ``REVOLVING_UTILISATION``,
``LONG_TERM``), so a dashboard or a reviewer reads both systems alike.

A learned weight may point either way, so a numeric input has a description
for a value above the population's typical level (``direction=+1``) and one
for a value below it (``direction=-1``). One-hot inputs (``channel=web``) and
missing-value indicators (``emp_length__missing``) map back to their base
field's code. Inputs not in the catalogue get ``FEATURE_<NAME>`` and a generic
description that names the input, so a new producer field is explained, never
dropped.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from riskmon.models.features import MISSING_SUFFIX, ONE_HOT_SEP, OTHER_CATEGORY

__all__ = ["ReasonEntry", "CATALOGUE", "base_name", "entry_for", "reason_for"]


@dataclass(frozen=True, slots=True)
class ReasonEntry:
    """One catalogue line: the stable code and how to say it.

    ``label`` names the input ("Income verification status"); ``high`` and
    ``low`` are the full descriptions when a value above / below the typical
    one raised the risk (generated from ``label`` when left empty).
    """

    code: str
    label: str
    high: str = ""
    low: str = ""

    def describe(self, direction: int = 1) -> str:
        """The description of a numeric value above (``+1``) or below (``-1``) typical."""
        if direction >= 0:
            return self.high or f"{self.label} is high"
        return self.low or f"{self.label} is low"


_E = ReasonEntry
#: Model input name -> reason. Codes shared with the default scorecard keep its wording.
CATALOGUE: Mapping[str, ReasonEntry] = {
    # contract fields and their derivations
    "amount": _E("LOAN_AMOUNT", "Requested amount", "Requested amount is high", "Requested amount is low"),
    "term_months": _E("LONG_TERM", "Repayment term", "Long repayment term", "Short repayment term"),
    "annual_income": _E("INCOME", "Annual income", "Annual income is high", "Annual income is low"),
    "log_annual_income": _E("INCOME", "Annual income", "Annual income is high", "Annual income is low"),
    "loan_to_income": _E(
        "LOAN_TO_INCOME",
        "Requested amount relative to income",
        "Requested amount is high relative to income",
        "Requested amount is low relative to income",
    ),
    "product": _E("PRODUCT", "Credit product"),
    "channel": _E("CHANNEL", "Application channel"),
    # features named in the contract
    "debt_to_income": _E(
        "DEBT_TO_INCOME",
        "Existing debt payments relative to income",
        "Existing debt payments are high relative to income",
        "Existing debt payments are low relative to income",
    ),
    "delinquencies_2y": _E(
        "DELINQUENCIES",
        "Delinquencies in the last two years",
        "Recent delinquencies on credit accounts",
        "Few or no recent delinquencies on credit accounts",
    ),
    "inquiries_6m": _E(
        "CREDIT_INQUIRIES", "Recent credit inquiries", "Many recent credit inquiries", "Few recent credit inquiries"
    ),
    "inquiries_12m": _E(
        "CREDIT_INQUIRIES", "Recent credit inquiries", "Many recent credit inquiries", "Few recent credit inquiries"
    ),
    "inq_fi": _E(
        "CREDIT_INQUIRIES", "Recent credit inquiries", "Many recent credit inquiries", "Few recent credit inquiries"
    ),
    "revol_util": _E(
        "REVOLVING_UTILISATION",
        "Utilisation of revolving credit",
        "High utilisation of revolving credit",
        "Low utilisation of revolving credit",
    ),
    "home_ownership": _E("HOME_OWNERSHIP", "Home ownership"),
    # Lending Club features (docs/data-mapping.md)
    "all_util": _E(
        "CREDIT_UTILISATION",
        "Utilisation of total credit limit",
        "High utilisation of total credit limit",
        "Low utilisation of total credit limit",
    ),
    "acc_now_delinq": _E(
        "CURRENT_DELINQUENCY",
        "Accounts now delinquent",
        "Accounts are currently delinquent",
        "No accounts are currently delinquent",
    ),
    "delinq_amnt": _E(
        "CURRENT_DELINQUENCY",
        "Amount past due",
        "Amount past due on delinquent accounts is high",
        "Amount past due on delinquent accounts is low",
    ),
    "open_il_6m": _E(
        "RECENT_INSTALLMENT_ACCOUNTS",
        "Installment accounts opened recently",
        "Many installment accounts opened recently",
        "Few installment accounts opened recently",
    ),
    "open_il_12m": _E(
        "RECENT_INSTALLMENT_ACCOUNTS",
        "Installment accounts opened recently",
        "Many installment accounts opened recently",
        "Few installment accounts opened recently",
    ),
    "open_il_24m": _E(
        "RECENT_INSTALLMENT_ACCOUNTS",
        "Installment accounts opened recently",
        "Many installment accounts opened recently",
        "Few installment accounts opened recently",
    ),
    "num_il_tl": _E(
        "INSTALLMENT_ACCOUNTS",
        "Number of installment accounts",
        "Many installment accounts",
        "Few installment accounts",
    ),
    "total_bal_il": _E(
        "INSTALLMENT_BALANCE",
        "Balance of installment accounts",
        "High balance on installment accounts",
        "Low balance on installment accounts",
    ),
    "total_il_high_credit_limit": _E(
        "INSTALLMENT_BALANCE",
        "Credit limit of installment accounts",
        "High credit limit on installment accounts",
        "Low credit limit on installment accounts",
    ),
    "emp_length": _E(
        "EMPLOYMENT_LENGTH", "Length of employment", "Long time in employment", "Short time in employment"
    ),
    "verification_status": _E("INCOME_VERIFICATION", "Income verification status"),
    "addr_state": _E("STATE", "State of residence"),
    "int_rate": _E("LENDER_INTEREST_RATE", "Interest rate assigned by the lender"),
    "sub_grade": _E("LENDER_GRADE", "Grade assigned by the lender"),
    # credit_data features
    "job_seniority_years": _E(
        "EMPLOYMENT_LENGTH", "Length of employment", "Long time in current job", "Short time in current job"
    ),
    "job_type": _E("EMPLOYMENT_TYPE", "Type of employment"),
    "monthly_expenses": _E("EXPENSES", "Monthly expenses", "High monthly expenses", "Low monthly expenses"),
    "assets": _E("ASSETS", "Assets", "High assets", "Low assets"),
    "debt": _E("DEBT_AMOUNT", "Existing debt", "High existing debt", "Low existing debt"),
    "goods_price": _E("GOODS_PRICE", "Price of the financed goods"),
    "has_records": _E(
        "ADVERSE_RECORDS", "Adverse credit records", "Adverse credit records on file", "No adverse credit records"
    ),
    "age": _E("AGE", "Age"),
    "marital_status": _E("MARITAL_STATUS", "Marital status"),
    # the customer's live risk profile (riskmon.profile): what the monitor saw across every stream
    "behaviour.open_alerts": _E("CUSTOMER_ALERTS", "Open alerts on the customer", "Alerts are open on the customer"),
    "behaviour.alert_level": _E(
        "CUSTOMER_ALERTS", "Severity of the customer's open alerts", "Severe alerts are open on the customer"
    ),
    "behaviour.exposure": _E(
        "EXISTING_EXPOSURE", "Outstanding borrowing", "Outstanding borrowing is high", "Outstanding borrowing is low"
    ),
    "behaviour.current_dpd": _E(
        "EXISTING_DELINQUENCY", "Days past due on existing loans", "An existing loan is past due"
    ),
    "behaviour.worst_dpd": _E("PAST_DELINQUENCY", "Worst days past due on any loan", "A loan was seriously past due"),
    "behaviour.defaults": _E("PAST_DEFAULTS", "Defaulted loans", "A previous loan defaulted"),
    "behaviour.tx_count_24h": _E(
        "ACCOUNT_ACTIVITY",
        "Transactions in the last 24 hours",
        "Unusually many transactions in the last 24 hours",
        "Few transactions in the last 24 hours",
    ),
    "behaviour.cash_24h": _E(
        "CASH_WITHDRAWALS",
        "Cash withdrawn in the last 24 hours",
        "Large cash withdrawals in the last 24 hours",
        "Little cash withdrawn in the last 24 hours",
    ),
}

_NOT_CODE = re.compile(r"[^A-Z0-9]+")
_MAX_CODE = 64  # riskmon.config accepts codes of up to 64 characters


def base_name(feature: str) -> str:
    """The field a model input comes from: one-hot and missing keys map back.

    >>> base_name("channel=web"), base_name("emp_length__missing"), base_name("amount")
    ('channel', 'emp_length', 'amount')
    """
    head, sep, _ = feature.partition(ONE_HOT_SEP)  # input names never hold "=" (features.feature_name)
    if sep:
        return head
    return feature[: -len(MISSING_SUFFIX)] if feature.endswith(MISSING_SUFFIX) else feature


def entry_for(name: str) -> ReasonEntry:
    """The catalogue entry of a base field; a generated one for unknown fields.

    >>> entry_for("inquiries_6m").code, entry_for("Night-owl score").code
    ('CREDIT_INQUIRIES', 'FEATURE_NIGHT_OWL_SCORE')
    """
    known = CATALOGUE.get(name)
    if known is not None:
        return known
    slug = _NOT_CODE.sub("_", name.upper()).strip("_")
    if not slug:  # a name with no ASCII letter or digit: a stable checksum instead
        slug = f"{zlib.crc32(name.encode()):08X}"
    code = f"FEATURE_{slug}"[:_MAX_CODE].rstrip("_")
    return ReasonEntry(code, f"The value of '{name}'")


def reason_for(feature: str, *, direction: int = 1) -> tuple[str, str]:
    """The ``(code, description)`` of one model input.

    ``direction`` says whether the scored value lay above (+1) or below (-1)
    the typical one; it only matters for numeric inputs.

    Examples
    --------
    >>> reason_for("loan_to_income")
    ('LOAN_TO_INCOME', 'Requested amount is high relative to income')
    >>> reason_for("verification_status=Not_Verified")
    ('INCOME_VERIFICATION', 'Income verification status: Not_Verified')
    >>> reason_for("emp_length__missing")
    ('EMPLOYMENT_LENGTH', 'Length of employment not provided')
    >>> reason_for("night_score", direction=-1)
    ('FEATURE_NIGHT_SCORE', "The value of 'night_score' is low")
    """
    base = base_name(feature)
    entry = entry_for(base)
    if base == feature:
        return entry.code, entry.describe(direction)
    if feature[len(base) :].startswith(ONE_HOT_SEP):
        value = feature[len(base) + len(ONE_HOT_SEP) :]
        return entry.code, f"{entry.label}: {'an uncommon value' if value == OTHER_CATEGORY else value}"
    return entry.code, f"{entry.label} not provided"
