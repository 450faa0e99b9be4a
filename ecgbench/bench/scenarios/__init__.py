"""How a loaded variant is driven: one :class:`~ecgbench.bench.lifecycle.Scenario` class each
(``interleaved``: latency and throughput; ``stream``), chosen by ``bench.runner.scenario_for``."""
