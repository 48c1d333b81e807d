"""Benchmarks of the skill runtime (``pytest -m bench -s tests/bench``, or ``make bench``).

Every figure is measured against a baseline taken in the same run, printed as a ratio next to
the absolute numbers, asserted against its goal, and written to ``var/bench/runtime.json``.
"""
