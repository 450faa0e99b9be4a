"""How a loaded variant is driven: one :class:`~ecgbench.bench.lifecycle.Scenario` class each."""

from __future__ import annotations

from ecgbench.bench.lifecycle import Log, Scenario
from ecgbench.bench.suite import Suite
from ecgbench.zoo import Zoo


def scenario_for(plan: Suite, threads: int, zoo: Zoo, log: Log = print) -> Scenario:
    """The plan's scenario (``latency``, ``throughput`` or ``stream``)."""
    if plan.scenario == "stream":  # opt-in: windows in wall-clock time (bench/stream/scenario.py)
        from ecgbench.bench.stream.scenario import StreamScenario

        return StreamScenario.of(plan, threads, zoo, log)
    from ecgbench.bench.scenarios.interleaved import LatencyScenario, ThroughputScenario

    cls = LatencyScenario if plan.scenario == "latency" else ThroughputScenario
    return cls(plan, threads)
