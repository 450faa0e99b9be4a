"""Is this slower? The latency gate: statistics, verdicts, their rendering, and how runs are timed.

``ecgbench.statistics`` works on plain arrays; ``verdicts`` judges a baseline run against a
current one and head against base (``pairing`` keys the rows, ``normalise`` divides the machine
out); ``same_job`` times base and head here (``changes``, ``sides``); ``render`` prints a
comparison. The gate's own measurement lives in ``ecgbench.studies``. ``ecgbench.bench`` never
imports this package: the gate sits on top of the benchmark, not inside it.
"""
