"""Shadow mode: a second configuration judged on the live inputs, written to ``risk.shadow`` only."""
