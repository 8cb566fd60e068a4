"""Online credit-scoring models: inputs, reasons, labels, learning, evaluation.

How the family is used (the worker does the I/O; everything here is pure):

1. ``x = model_inputs(application)`` turns a validated application into the
   model's inputs; keep ``x`` with the decision, it is what the label will be
   learned with.
2. ``pds = model.predict_proba_many(xs)`` scores a batch;
   ``model.explain_many(xs)`` gives each decision's ranked reasons, read off the
   same terms that produced its score. Record ``model.version`` and
   ``model.snapshot_hash`` with the decision.
3. When a repayment event arrives, ``label_from_repayment(rep)`` says whether
   the loan has a final label (bad at default or 90+ days past due, good when
   paid off); learn only the first final label per application
   (``should_learn``).
4. ``ChampionChallenger`` scores with two models, judges both on the PDs they
   gave at decision time, and promotes by a ``PromotionRule`` that gives its
   reason.
5. ``model.snapshot()`` is bytes for the caller to store (Redis);
   ``OnlineCreditModel.restore(data)`` brings the model back.
"""

from riskmon.models.base import CreditModel
from riskmon.models.evaluation import ChampionChallenger, PrequentialEvaluator, PromotionRule
from riskmon.models.features import LENDER_PRICING, model_inputs
from riskmon.models.labels import BAD_DAYS_PAST_DUE, is_final, label_from_repayment, should_learn
from riskmon.models.online import DEFAULT_PRIOR_PD, OnlineCreditModel
from riskmon.models.reasons import reason_for

__all__ = [
    "BAD_DAYS_PAST_DUE",
    "ChampionChallenger",
    "CreditModel",
    "DEFAULT_PRIOR_PD",
    "LENDER_PRICING",
    "OnlineCreditModel",
    "PrequentialEvaluator",
    "PromotionRule",
    "is_final",
    "label_from_repayment",
    "model_inputs",
    "reason_for",
    "should_learn",
]
