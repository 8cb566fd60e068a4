"""Root pytest configuration: doctests run over the package, except entry points."""

collect_ignore = ["riskmon/__main__.py"]
