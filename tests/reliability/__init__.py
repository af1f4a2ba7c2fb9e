"""Reliability and security: crashes at every fault point, concurrent writers, bad input, hostile databases.

The default run is bounded (the ``ci`` Hypothesis profile, the first hits of each
fault point, a few random kills). The long versions are marked ``slow`` and
deselected by default; run them with ``pytest -m slow`` or ``LEDGERGRAPH_SLOW=1``,
and more Hypothesis examples with ``HYPOTHESIS_PROFILE=thorough``.
``LEDGERGRAPH_CRASH_SEED`` repeats a run of random kills.
"""
