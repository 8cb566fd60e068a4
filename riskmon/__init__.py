"""riskmon: a real-time streaming credit-risk monitor."""

__version__ = "0.1.0"
