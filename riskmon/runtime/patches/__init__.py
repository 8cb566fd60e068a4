"""Replacements for Faust internals, each pinned to the faust-streaming and aiokafka versions it was made from.

* :mod:`.fetch_wait`: the worker consumer's fetch wait and minimum;
* :mod:`.handover`: fetched messages handed to agents inline;
* :mod:`.batching`: input batches taken on a window.

``PATCHED_VERSIONS`` names the exact versions; pyproject.toml pins them and
``tests/unit/test_patched_versions.py`` fails when the installed ones differ.
"""

PATCHED_VERSIONS = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}
