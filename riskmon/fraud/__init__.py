"""Fraud scores learned from confirmed transaction outcomes (labels that arrive days later).

``features.py`` (what is scored and snapshotted), ``model.py`` (the online
supervised model and its reasons), ``evaluation.py`` (champion and challenger
judged prequentially), ``grading.py`` (per-level budgets and the
``txn_fraud`` alert). Pure: no Kafka, no Redis.
"""

from riskmon.fraud.evaluation import FraudChampionChallenger
from riskmon.fraud.features import fraud_features
from riskmon.fraud.grading import BudgetGrader, fraud_alert
from riskmon.fraud.model import FraudModel

__all__ = ["FraudModel", "FraudChampionChallenger", "BudgetGrader", "fraud_alert", "fraud_features"]
