"""The customer risk profile: one view of a customer across every stream, joined into each decision.

Each path that sees a customer's events keeps its part of the profile in one
Redis hash per customer, ``<ns>:risk:<customer_id>``, written in the batch's
existing round trip:

* the transaction path: the last 24 hours' transaction count and cash amount;
* the repayment path: each open loan's days past due, the worst ever, defaults;
* the alert manager: the customer's open alerts, by detector and level;
* the application path: the last decision, and recent approvals (for holds).

The portfolio watch's exposure book (``<ns>:exposure``) gives the outstanding
exposure. The application path reads all of it in the same round trip as
its duplicate look-up, and the policy's customer rules
(:mod:`riskmon.decisioning.customer`) act on it. Keys and fields hold
identifiers and numbers only, never personal data; every write refreshes the
hash's expiry.

:mod:`.fields` names the keys and fields, :mod:`.profile` reads a profile
from them (pure), :mod:`.holds` picks the approvals a critical alert puts on
hold (pure).
"""

from riskmon.profile.fields import PARTS, clock_key, risk_key
from riskmon.profile.profile import EMPTY, CustomerProfile, profile_from_redis

__all__ = ["EMPTY", "PARTS", "CustomerProfile", "clock_key", "profile_from_redis", "risk_key"]
