"""Measurement studies of ecgbench itself: how often the gate false-alarms and detects
(``gate-power``, ``gate-power-same-job``), and the results store at fleet scale (``python -m
ecgbench.studies.store_scale``).

A leaf: nothing in the product imports it (only the CLI, lazily, for the study commands), and it
drives ecgbench the way a user does, through the ``ecgbench`` command in a subprocess or the
library's functions.
"""
