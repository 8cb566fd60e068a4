"""Repayments and learning: labels joined to decisions, the online learner, the model registry.

:mod:`.repayments` turns repayments into labels (joined with the decision's
feature snapshot in Redis); :mod:`.learner` trains champion and challenger
on them and publishes snapshots to :mod:`.registry`, which every worker's
scorer reads.
"""
