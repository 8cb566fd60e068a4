"""Decisioning: turn a validated application into an outcome with reasons.

The policy is pure: it reads an application and the configuration and returns a
:class:`~riskmon.decisioning.policy.PolicyResult`; the stream agent does the I/O.
Outcomes are ordered (approve < review < reject) so that combining a hard rule
and a score cut-off is "take the most severe".
"""

from riskmon.decisioning.outcomes import Outcome, most_severe
from riskmon.decisioning.policy import PolicyResult, ScoredFactor, decide, field_value, grade_for

__all__ = ["Outcome", "most_severe", "PolicyResult", "ScoredFactor", "decide", "grade_for", "field_value"]
