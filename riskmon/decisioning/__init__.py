"""riskmon.decisioning."""
