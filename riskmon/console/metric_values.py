"""The one place that names the Prometheus metrics the console reads.

Why read the worker's own registry: every worker already refreshes the
models' prequential AUC from the model registry into a gauge every few
seconds (``export_model_metrics`` in :mod:`riskmon.runtime.app`); reading that
gauge keeps one definition of "the AUC the operators see". If a metric is
renamed, change its name here; ``tests/unit/test_console.py`` reads a real
:class:`~riskmon.pipeline.metrics.WorkerMetrics` and fails when the name no
longer matches.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

__all__ = ["MODEL_AUC", "MODEL_CALIBRATION", "model_auc", "model_calibration", "gauge_by_label"]

#: Prequential ROC AUC by model (``model`` label: scorecard, champion's family, challenger's family).
MODEL_AUC = "riskmon_model_roc_auc"
#: Calibration traffic light by model and grade (0 green, 1 yellow, 2 red; riskmon.models.calibration).
MODEL_CALIBRATION = "riskmon_model_calibration_light"


def gauge_by_label(registry: CollectorRegistry, name: str, label: str) -> dict[str, float]:
    """The values of gauge ``name`` keyed by its ``label``; empty when the metric does not exist."""
    out: dict[str, float] = {}
    for family in registry.collect():
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == name and label in sample.labels:
                out[sample.labels[label]] = sample.value
    return out


def model_auc(registry: CollectorRegistry) -> dict[str, float]:
    """Each model's prequential AUC as this worker last exported it (see :data:`MODEL_AUC`)."""
    return gauge_by_label(registry, MODEL_AUC, "model")


def model_calibration(registry: CollectorRegistry) -> dict[str, dict[str, str]]:
    """Each model's calibration light per grade (``{"champion's family": {"A": "green", ...}}``)."""
    names = ("green", "yellow", "red")
    out: dict[str, dict[str, str]] = {}
    for family in registry.collect():
        if family.name != MODEL_CALIBRATION:
            continue
        for sample in family.samples:
            model, grade = sample.labels.get("model"), sample.labels.get("grade")
            if model and grade and 0 <= int(sample.value) < len(names):
                out.setdefault(model, {})[grade] = names[int(sample.value)]
    return out
