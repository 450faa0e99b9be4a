"""Is this slower? The latency gate: statistics, verdicts, their rendering, and how runs are timed.

``stats`` works on plain arrays; ``compare`` judges a baseline run against a current one;
``same_job`` times base and head here (``changes``, ``sides``, ``paired``); ``render`` prints a
comparison. The gate's own measurement lives in ``ecgbench.studies``. ``ecgbench.bench`` never
imports this package: the gate sits on top of the benchmark, not inside it.
"""
