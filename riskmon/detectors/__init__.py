"""riskmon.detectors."""
