"""riskmon.stack."""
