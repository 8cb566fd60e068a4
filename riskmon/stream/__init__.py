"""riskmon.stream."""
