"""riskmon.alerts."""
