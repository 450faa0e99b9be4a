"""One results model: the flat row ``report`` and the store's frame share, and the one
fingerprint that decides "the same machine"."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from ecgbench.bench.results.document import read_run, tidy_rows
from ecgbench.bench.results.fingerprint import Fingerprint, collect_fingerprint
from ecgbench.bench.results.flat import DERIVED_COLUMNS, flat_columns
from ecgbench.bench.store.database import ResultsStore

BASELINES = Path(__file__).resolve().parents[1] / "runners" / "baselines"
BASELINE = BASELINES / "baseline-22853bd3c53e.json"  # schema 1


def _same(a, b) -> bool:
    missing = (None,)
    if a in missing or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return a == b


def _assert_frame_is_tidy(doc, df) -> None:
    tidy = tidy_rows(doc)
    assert list(tidy[0]) == list(df.columns) == flat_columns()
    for i, row in enumerate(tidy):
        for c, v in row.items():
            assert _same(v, df[c].iloc[i]), (c, v, df[c].iloc[i])


def test_tidy_rows_and_the_store_frame_have_one_column_set(tmp_path: Path) -> None:
    doc = read_run(BASELINE)
    st = ResultsStore(tmp_path)
    st.add_run(doc)
    df = st.frame()
    st.close()
    _assert_frame_is_tidy(doc, df)
    assert {"suite", "run_complete", "machine_name", "p90_valid", "score_drop_verdict"} <= set(df)


def test_a_store_older_than_the_derived_columns_derives_them_from_its_documents(
    tmp_path: Path,
) -> None:
    doc = read_run(BASELINE)
    st = ResultsStore(tmp_path)
    st.add_run(doc)
    st.close()
    con = sqlite3.connect(tmp_path / "ecgbench.db")  # as an older ecgbench left it
    for n, _ in DERIVED_COLUMNS:
        con.execute(f'ALTER TABLE rows DROP COLUMN "{n}"')
    con.commit()
    con.close()
    st = ResultsStore(tmp_path, create=False)
    df = st.frame()
    st.close()
    assert len(df) == len(doc.rows)
    _assert_frame_is_tidy(doc, df)


def _fp(**kw) -> dict:
    base = {
        "cpu_model": "AMD EPYC 9R14",
        "isa": ["avx2", "avx512f", "avx512_bf16"],
        "threads": 8,
        "versions": {"ecgbench": "0.1", "openvino": "2025.1", "torch": "2.5", "numpy": "2.1"},
    }
    return {**base, **kw}


# (a, b, what a.differences(b) names): the CPU, its ISA in order, threads, five libraries
PAIRS = [
    (_fp(), _fp(), []),
    (
        _fp(),
        _fp(cpu_model="Intel Xeon 8488C", threads=4),
        ["cpu_model: 'AMD EPYC 9R14' vs 'Intel Xeon 8488C'", "threads: 8 vs 4"],
    ),
    (
        _fp(),
        _fp(isa=["avx512f", "avx2", "avx512_bf16"]),  # the order counts, as it always has
        ["isa: ['avx2', 'avx512f', 'avx512_bf16'] vs ['avx512f', 'avx2', 'avx512_bf16']"],
    ),
    (
        _fp(),
        _fp(versions={"openvino": "2024.6", "onnx": "1.17"}),
        ["openvino 2025.1 vs 2024.6", "torch 2.5 vs None", "onnx None vs 1.17"],
    ),
    (  # ecgbench's and numpy's versions are not what makes another machine
        _fp(),
        _fp(versions={"ecgbench": "0.2", "numpy": "1.26", "openvino": "2025.1", "torch": "2.5"}),
        [],
    ),
    (  # an older document's fingerprint without the keys
        {},
        _fp(),
        [
            "cpu_model: None vs 'AMD EPYC 9R14'",
            "isa: None vs ['avx2', 'avx512f', 'avx512_bf16']",
            "threads: None vs 8",
            "openvino None vs 2025.1",
            "torch None vs 2.5",
        ],
    ),
]


@pytest.mark.parametrize("a, b, said", PAIRS)
def test_differences_name_the_machine_facts_that_differ(a: dict, b: dict, said: list) -> None:
    fa, fb = Fingerprint.from_dict(a), Fingerprint.from_dict(b)
    assert fa.differences(fb) == said
    assert fb.differences(fa) == [_swapped(line) for line in said]


def _swapped(line: str) -> str:
    head, _, rest = line.partition(": ") if ": " in line else line.partition(" ")
    x, _, y = rest.partition(" vs ")
    return f"{head}{': ' if ': ' in line else ' '}{y} vs {x}"


def test_a_fingerprint_round_trips_with_its_machine_id() -> None:
    fp = collect_fingerprint(2)
    d = fp.to_dict()
    back = Fingerprint.from_dict(d)
    assert back.to_dict() == d and back.machine_id == fp.machine_id
    assert Fingerprint.from_dict({**d, "machine_id": "fleet01"}).machine_id == "fleet01"
    # a recorded id is kept; without one the identity's hash
    del d["machine_id"]
    assert Fingerprint.from_dict(d).machine_id == fp.machine_id


def test_the_committed_baselines_keep_their_keys() -> None:
    from ecgbench.gate.baselines import baseline_key

    for p in sorted(BASELINES.glob("baseline-*.json")):
        assert f"baseline-{baseline_key(read_run(p).fingerprint)}.json" == p.name
