"""riskmon.schemas."""
