"""Several zoos' models timed in one interleaved process (the same-job gate's models mode)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import chain, zip_longest
from pathlib import Path

from ecgbench.bench.lifecycle import Lifecycle, reraise_if_stopped, stop_rule
from ecgbench.bench.references import ModelReference
from ecgbench.bench.results.document import RunDocument
from ecgbench.bench.results.fingerprint import collect_fingerprint
from ecgbench.bench.results.schema import References, ReferenceTiming
from ecgbench.bench.scenarios.interleaved import LatencyScenario
from ecgbench.bench.suite import Suite
from ecgbench.bench.timing import TimedVariant
from ecgbench.errors import BadInputError

Log = Callable[[str], None]


def time_zoos(
    plan: Suite,
    zoo_dirs: list[Path],
    log: Log = print,
    show_progress: bool = False,
    only: set[tuple[str, str, str]] | None = None,
    side_plans: list[Suite] | None = None,
) -> list[RunDocument]:
    """Every variant of ``plan`` from each zoo, all timed in the same interleaved rounds.

    ``only`` keeps just those (model, backend, precision): a confirmation re-times flagged keys.
    ``side_plans`` gives a zoo its own suite (e.g. longer inputs: a measured slowdown)."""
    from ecgbench.bench.options import RunOptions
    from ecgbench.bench.variants import load_variants
    from ecgbench.host import default_threads
    from ecgbench.zoo import Zoo

    plan.validate()
    threads = plan.threads or default_threads()
    opts = RunOptions(use_store=False, show_progress=show_progress)
    fp = collect_fingerprint(threads).to_dict()
    sides = []
    for i, root in enumerate(zoo_dirs):
        zoo = Zoo(root)
        names = (
            zoo.names() if "all" in plan.models else [m for m in plan.models if m in zoo.entries]
        )
        if not names:
            raise BadInputError(f"{root}: none of the suite's models is in this zoo")
        side_plan = side_plans[i] if side_plans else plan
        loaded = load_variants(replace(side_plan, models=tuple(names)), opts, zoo, threads, log)
        if only is not None:
            for it in loaded:
                if (it.model, it.backend_name, it.precision) not in only:
                    it.backend.close()
            loaded = [it for it in loaded if (it.model, it.backend_name, it.precision) in only]
        sides.append(loaded)
    ref = ModelReference(threads)
    ref_timed = TimedVariant(label=ref.label, run=ref.run)
    scenario = LatencyScenario(plan, threads)
    life = Lifecycle(scenario, stop_rule(plan), [ref_timed], show_progress=show_progress, log=log)
    # base and head variant by variant (b0, h0, b1, h1, …): each pair has the same neighbours
    order = [v for v in chain.from_iterable(zip_longest(*sides)) if v is not None]
    reraise_if_stopped(life.drive(order))
    model_ref = ReferenceTiming.timed(ref.label, ref_timed.samples_ns, ref_timed.slices)
    docs = []
    for side in sides:
        rows = [row for _, row in scenario.rows(side, {}, complete=True)]
        docs.append(
            RunDocument(
                fingerprint=dict(fp),
                rows=rows,
                reference=References(model=model_ref),
                complete=True,
                suite=plan.name,
            )
        )
    return docs


# --------------------------------------------------------------------------- the command
