"""riskmon.demo."""
