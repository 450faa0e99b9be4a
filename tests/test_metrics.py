"""Challenge 2021 scoring: hand-computed cases, a loop-based reference, Challenge-format files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ecgbench.data.classes import NORMAL_CLASS, SCORED_CLASSES, Weights, load_weights
from ecgbench.errors import BadInputError
from ecgbench.metrics import (
    ChallengeScores,
    compute_accuracy,
    compute_auc,
    compute_challenge_metric,
    compute_f_measure,
    compute_modified_confusion_matrix,
    load_label_folder,
    load_output_file,
    load_output_folder,
    score_arrays,
    score_folders,
    write_output_file,
)

OFFICIAL_WEIGHTS = Path(__file__).parents[1].parent / "shared" / "physionet2021" / "weights.csv"
needs_official_weights = pytest.mark.skipif(
    not OFFICIAL_WEIGHTS.is_file(),
    reason=f"official Challenge weights.csv not found at {OFFICIAL_WEIGHTS} (third-party file)",
)

# A toy 3-class problem: AF, RBBB (two equivalent codes) and normal sinus rhythm (NSR).
AF, RBBB, NSR = "164889003", "713427006|59118001", NORMAL_CLASS
TOY_CLASSES = (AF, RBBB, NSR)
# Rows = label, columns = output. Confusing AF and RBBB earns half credit, anything vs NSR none.
TOY_W = np.array(
    [
        [1.0, 0.5, 0.0],
        [0.5, 1.0, 0.0],
        [0.0, 0.0, 1.0],
    ]
)
TOY_WEIGHTS = Weights(classes=TOY_CLASSES, matrix=TOY_W)


def b(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=bool)


# --- hand-computed cases -------------------------------------------------------------------------

# r1: label {AF},   output {AF, RBBB} -> |union| = 2: A[AF,AF] += 1/2, A[AF,RBBB] += 1/2
# r2: label {RBBB}, output {NSR}      -> |union| = 2: A[RBBB,NSR] += 1/2
# r3: label {NSR},  output {NSR}      -> |union| = 1: A[NSR,NSR] += 1
HAND_LABELS = b([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
HAND_OUTPUTS = b([[1, 1, 0], [0, 0, 1], [0, 0, 1]])


def test_modified_confusion_matrix_normalises_each_record_by_its_union() -> None:
    expected = np.array(
        [
            [0.5, 0.5, 0.0],
            [0.0, 0.0, 0.5],
            [0.0, 0.0, 1.0],
        ]
    )
    np.testing.assert_allclose(
        compute_modified_confusion_matrix(HAND_LABELS, HAND_OUTPUTS), expected
    )


def test_modified_confusion_matrix_empty_record_counts_one_and_gives_no_credit() -> None:
    # label {} output {AF}: no label, no credit;
    # label {AF,RBBB} output {NSR}: union of 3 -> 1/3 each
    a = compute_modified_confusion_matrix(b([[0, 0, 0], [1, 1, 0]]), b([[1, 0, 0], [0, 0, 1]]))
    expected = np.zeros((3, 3))
    expected[0, 2] = expected[1, 2] = 1 / 3
    np.testing.assert_allclose(a, expected)


def test_challenge_metric_hand_case() -> None:
    # observed = 1/2*1 + 1/2*0.5 (r1) + 1/2*0 (r2) + 1*1 (r3) = 1.75
    # correct (outputs = labels): every record has one label -> 1 + 1 + 1 = 3
    # always-NSR: r1 {AF}->{NSR}: 1/2*0; r2 likewise 0; r3: 1            = 1
    # score = (1.75 - 1) / (3 - 1) = 0.375
    score = compute_challenge_metric(TOY_W, HAND_LABELS, HAND_OUTPUTS, TOY_CLASSES, NSR)
    assert score == pytest.approx(0.375, abs=1e-12)


def test_perfect_is_one_and_always_normal_is_zero() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random((50, 3)) < 0.4
    labels[0] = [True, False, False]  # at least one abnormal label, so the denominator is not 0
    normal_only = np.zeros_like(labels)
    normal_only[:, 2] = True
    assert compute_challenge_metric(TOY_W, labels, labels, TOY_CLASSES, NSR) == pytest.approx(1.0)
    assert compute_challenge_metric(TOY_W, labels, normal_only, TOY_CLASSES, NSR) == pytest.approx(
        0.0, abs=1e-12
    )
    # Predicting nothing at all is worse than always-normal here: records labelled NSR lose credit.
    nothing = np.zeros_like(labels)
    assert compute_challenge_metric(TOY_W, labels, nothing, TOY_CLASSES, NSR) < 0


def test_challenge_metric_is_zero_when_perfect_equals_always_normal() -> None:
    # Every record is labelled NSR only: correct == inactive, so the official code returns 0.0
    # for any outputs (here a wrong one, whose unnormalised reward would differ).
    labels = b([[0, 0, 1], [0, 0, 1]])
    outputs = b([[1, 0, 0], [0, 1, 1]])
    assert compute_challenge_metric(TOY_W, labels, outputs, TOY_CLASSES, NSR) == 0.0


def test_normal_class_may_be_named_by_an_equivalent_code_but_must_exist() -> None:
    # With RBBB as the "normal" class, always-RBBB is the zero point.
    labels = HAND_LABELS
    always_rbbb = b([[0, 1, 0]] * 3)
    assert compute_challenge_metric(
        TOY_W, labels, always_rbbb, TOY_CLASSES, "59118001"
    ) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(BadInputError, match="normal class"):
        compute_challenge_metric(TOY_W, labels, labels, TOY_CLASSES, "999")


def test_f_measure_and_accuracy_hand_case() -> None:
    labels = b([[1, 0, 1], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    outputs = b([[1, 0, 1], [0, 0, 0], [1, 0, 0], [0, 0, 0]])
    # class 0: tp 1, fp 1, fn 1 -> 2/(2+1+1) = 0.5
    # class 1: no positive label and no positive output -> NaN, left out of the macro mean
    # class 2: tp 1 -> 1.0
    macro, per_class = compute_f_measure(labels, outputs)
    np.testing.assert_allclose(per_class, [0.5, np.nan, 1.0])
    assert macro == pytest.approx(0.75)  # nanmean(0.5, 1.0), not (0.5 + 0 + 1) / 3
    # rows equal: r1 yes, r2 no, r3 no, r4 yes -> 2/4
    assert compute_accuracy(labels, outputs) == pytest.approx(0.5)


def test_f_measure_false_positives_without_positive_labels_score_zero_not_nan() -> None:
    macro, per_class = compute_f_measure(b([[0], [0]]), b([[1], [0]]))
    assert per_class[0] == 0.0 and macro == 0.0
    macro, per_class = compute_f_measure(b([[0], [0]]), b([[0], [0]]))
    assert math.isnan(per_class[0]) and math.isnan(macro)


def test_auc_hand_case_with_ties_and_undefined_classes() -> None:
    labels = b([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]])
    scores = np.array(
        [[0.9, 0.1, 0.5], [0.8, 0.2, 0.4], [0.8, 0.3, 0.3], [0.3, 0.4, 0.2]], dtype=float
    )
    # Column 0: P = 2, N = 2; thresholds 1.9 (nothing), 0.9, 0.8 (tie: one pos + one neg), 0.3
    #   tp/fp:  0/0, 1/0, 2/1, 2/2  -> TPR 0, .5, 1, 1;  TNR 1, 1, .5, 0;  PPV -, 1, 2/3, 1/2
    #   AUROC = .5*.5*(1+1) + .5*.5*(1+.5) + 0 = .5 + .375 = .875  (= 3.5 of 4 pairs, tie = 1/2)
    #   AUPRC = .5*1 + .5*(2/3) + 0*(1/2) = 5/6
    # Column 1: no positives -> TPR undefined -> both NaN.
    # Column 2: no negatives -> TNR undefined -> AUROC NaN; PPV = 1 throughout -> AUPRC = 1.
    auroc, auprc, auroc_k, auprc_k = compute_auc(labels, scores)
    np.testing.assert_allclose(auroc_k, [0.875, np.nan, np.nan])
    np.testing.assert_allclose(auprc_k, [5 / 6, np.nan, 1.0])
    assert auroc == pytest.approx(0.875)
    assert auprc == pytest.approx((5 / 6 + 1.0) / 2)


def test_auc_all_scores_tied_is_one_diagonal_step() -> None:
    # One threshold admits everybody: AUROC = .5*1*(1+0) = .5; AUPRC = 1 * P/(P+N) = 1/3.
    auroc, auprc, _, _ = compute_auc(b([[1], [0], [0]]), np.full((3, 1), 0.7))
    assert auroc == pytest.approx(0.5) and auprc == pytest.approx(1 / 3)


# --- cross-check against a loop-by-loop restatement of the official definitions ------------------


def ref_scores(
    labels: np.ndarray, binary: np.ndarray, scalar: np.ndarray, w: np.ndarray, normal: int
) -> dict[str, float]:
    """Deliberately naive: record-by-record, threshold-by-threshold, as evaluate_model.py does."""
    n, c = labels.shape

    correct_rows = sum(all(labels[i, j] == binary[i, j] for j in range(c)) for i in range(n))
    accuracy = correct_rows / n

    f = []
    for k in range(c):
        tp = sum(1 for i in range(n) if labels[i, k] and binary[i, k])
        fp = sum(1 for i in range(n) if not labels[i, k] and binary[i, k])
        fn = sum(1 for i in range(n) if labels[i, k] and not binary[i, k])
        f.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else float("nan"))

    aurocs, auprcs = [], []
    for k in range(c):
        # Distinct scores, plus one above the top, descending; records in descending score order
        # (argsort puts NaN last, so reversed it comes first -- the official quirk, kept).
        thresholds = np.unique(scalar[:, k]).tolist()
        thresholds = [*thresholds, thresholds[-1] + 1][::-1]
        order = np.argsort(scalar[:, k])[::-1]
        pos = sum(bool(labels[i, k]) for i in range(n))
        tp, fp, fn, tn = [0], [0], [pos], [n - pos]
        i = 0
        for t in thresholds[1:]:
            tp.append(tp[-1])
            fp.append(fp[-1])
            fn.append(fn[-1])
            tn.append(tn[-1])
            while i < n and scalar[order[i], k] >= t:
                if labels[order[i], k]:
                    tp[-1] += 1
                    fn[-1] -= 1
                else:
                    fp[-1] += 1
                    tn[-1] -= 1
                i += 1
        nan = float("nan")
        tpr = [a / (a + m) if a + m else nan for a, m in zip(tp, fn, strict=True)]
        tnr = [m / (a + m) if a + m else nan for a, m in zip(fp, tn, strict=True)]
        ppv = [a / (a + m) if a + m else nan for a, m in zip(tp, fp, strict=True)]
        roc = prc = 0.0
        for j in range(len(thresholds) - 1):
            roc += 0.5 * (tpr[j + 1] - tpr[j]) * (tnr[j + 1] + tnr[j])
            prc += (tpr[j + 1] - tpr[j]) * ppv[j + 1]
        aurocs.append(roc)
        auprcs.append(prc)

    def macro(v: list[float]) -> float:
        ok = [x for x in v if not math.isnan(x)]
        return sum(ok) / len(ok) if ok else float("nan")

    def mcm(outputs: np.ndarray) -> np.ndarray:
        a = np.zeros((c, c))
        for i in range(n):
            norm = max(sum(1 for j in range(c) if labels[i, j] or outputs[i, j]), 1)
            for j in range(c):
                for k in range(c):
                    if labels[i, j] and outputs[i, k]:
                        a[j, k] += 1.0 / norm
        return a

    def reward(outputs: np.ndarray) -> float:
        a = mcm(outputs)
        return sum(w[j, k] * a[j, k] for j in range(c) for k in range(c) if not math.isnan(w[j, k]))

    inactive_outputs = np.zeros_like(labels)
    inactive_outputs[:, normal] = True
    observed, correct, inactive = reward(binary), reward(labels), reward(inactive_outputs)
    challenge = (observed - inactive) / (correct - inactive) if correct != inactive else 0.0
    return {
        "challenge_score": challenge,
        "auroc": macro(aurocs),
        "auprc": macro(auprcs),
        "accuracy": accuracy,
        "f_measure": macro(f),
    }


def random_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, Weights]:
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(1, 40)), 5
    labels = rng.random((n, c)) < rng.uniform(0.05, 0.6)
    binary = rng.random((n, c)) < rng.uniform(0.05, 0.6)
    scalar = np.round(rng.random((n, c)), 1)  # one decimal: many ties
    if seed % 3 == 0:
        labels[:, 1] = False  # a class without positives
        binary[:, 1] = False
    if seed % 4 == 0:
        labels[:, 3] = True  # a class without negatives
    if seed % 5 == 0:
        scalar[rng.integers(n), 4] = np.nan
    if seed % 7 == 0:
        scalar[:, 0] = rng.choice([-np.inf, 0.0, np.inf], size=n)
    w = rng.random((c, c))
    w = (w + w.T) / 2
    np.fill_diagonal(w, 1.0)
    if seed % 6 == 0:
        w[0, 1] = np.nan  # the official reward is a nansum
    classes = ("1", "2|22", "3", NSR, "5")
    return labels, binary, scalar, Weights(classes=classes, matrix=w)


@pytest.mark.parametrize("seed", range(60))
def test_score_arrays_matches_loop_reference(seed: int) -> None:
    labels, binary, scalar, weights = random_case(seed)
    got = score_arrays(labels, binary, scalar, weights).to_json_dict()
    want = ref_scores(labels, binary, scalar, weights.matrix, normal=3)
    for key, value in want.items():
        if math.isnan(value):
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(value, abs=1e-6), key


@needs_official_weights
def test_score_arrays_matches_reference_at_full_size_with_official_weights() -> None:
    weights = load_weights(OFFICIAL_WEIGHTS)
    rng = np.random.default_rng(2021)
    n, c = 2000, len(weights.classes)
    prevalence = rng.uniform(0.005, 0.3, size=c)
    labels = rng.random((n, c)) < prevalence
    scalar = np.clip(labels * 0.3 + rng.random((n, c)) * 0.7, 0, 1).round(2)
    binary = scalar > 0.5
    got = score_arrays(labels, binary, scalar, weights)
    want = ref_scores(labels, binary, scalar, weights.matrix, SCORED_CLASSES.index(NSR))
    for key, value in want.items():
        assert getattr(got, key) == pytest.approx(value, abs=1e-6), key
    assert 0.0 < got.challenge_score < 1.0


@needs_official_weights
def test_official_weights_perfect_is_one_always_normal_is_zero() -> None:
    weights = load_weights(OFFICIAL_WEIGHTS)
    assert weights.classes == SCORED_CLASSES
    rng = np.random.default_rng(1)
    labels = rng.random((300, len(SCORED_CLASSES))) < 0.08
    normal = np.zeros_like(labels)
    normal[:, SCORED_CLASSES.index(NSR)] = True
    assert score_arrays(labels, labels, labels * 1.0, weights).challenge_score == pytest.approx(1)
    assert score_arrays(labels, normal, normal * 1.0, weights).challenge_score == pytest.approx(
        0, abs=1e-12
    )


def test_score_arrays_rejects_mismatched_shapes() -> None:
    with pytest.raises(BadInputError, match="shape"):
        score_arrays(HAND_LABELS, HAND_OUTPUTS[:2], np.zeros((3, 3)), TOY_WEIGHTS)
    with pytest.raises(BadInputError, match="class columns"):
        score_arrays(HAND_LABELS[:, :2], HAND_OUTPUTS[:, :2], np.zeros((3, 2)), TOY_WEIGHTS)


def test_to_json_dict_has_exactly_the_five_scores_and_no_nan() -> None:
    scores = ChallengeScores(0.5, float("nan"), 0.25, 1.0, 0.75)
    d = scores.to_json_dict()
    assert list(d) == ["challenge_score", "auroc", "auprc", "accuracy", "f_measure"]
    assert d["auroc"] is None and d["auprc"] == 0.25
    json.loads(json.dumps(d, allow_nan=False))


# --- Challenge-format files -----------------------------------------------------------------------


def write_header(folder: Path, record: str, dx: str | None) -> None:
    lines = [f"{record} 12 500 5000", f"{record}.mat 16+24 1000/mV 16 0 0 0 0 I", "#Age: 60"]
    if dx is not None:
        lines.append(f"#Dx: {dx}")
    (folder / f"{record}.hea").write_text("\n".join(lines) + "\n")


def write_toy_weights(path: Path) -> Path:
    rows = [",".join(["", *TOY_CLASSES])]
    rows += [",".join([cls, *(str(v) for v in TOY_W[i])]) for i, cls in enumerate(TOY_CLASSES)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_label_folder_merges_equivalent_codes_and_ignores_unscored(tmp_path: Path) -> None:
    write_header(tmp_path, "A0002", "59118001,426783006")  # RBBB via its second code, NSR
    write_header(tmp_path, "A0001", "713427006, 59118001")  # both RBBB codes -> one class
    write_header(tmp_path, "A0003", "999999")  # unscored only -> all-False row, still a record
    write_header(tmp_path, "A0004", None)  # no #Dx line
    (tmp_path / "notes.txt").write_text("#Dx: 164889003\n")
    records, labels = load_label_folder(tmp_path, TOY_CLASSES)
    assert records == ["A0001", "A0002", "A0003", "A0004"]
    np.testing.assert_array_equal(labels, b([[0, 1, 0], [0, 1, 1], [0, 0, 0], [0, 0, 0]]))


def test_output_file_columns_in_any_order_and_equivalent_codes_merge(tmp_path: Path) -> None:
    path = tmp_path / "A0001.csv"
    # RBBB appears twice (both codes): positive if any is, probability = mean(0.2, 0.6) = 0.4.
    # AF is absent -> 0; the unscored code 999 is ignored; NaN probability counts as 0.
    path.write_text("#A0001\n426783006,713427006,999,59118001\n0,1,1,0\nnan,0.2,0.9,0.6\n")
    record, binary, probs = load_output_file(path, TOY_CLASSES)
    assert record == "A0001"
    np.testing.assert_array_equal(binary, [False, True, False])
    np.testing.assert_allclose(probs, [0.0, 0.4, 0.0])


def test_write_output_file_format_round_trips_exactly(tmp_path: Path) -> None:
    path = tmp_path / "out" / "r1.csv"
    probs = [1 / 3, 0.0, 0.123456789012345678]
    write_output_file(path, "r1", TOY_CLASSES, [True, False, True], probs)
    lines = path.read_text().splitlines()
    assert lines[:3] == ["#r1", ",".join(TOY_CLASSES), "1,0,1"]
    assert [p.name for p in path.parent.iterdir()] == ["r1.csv"]  # no temp file left behind
    _, binary, got = load_output_file(path, TOY_CLASSES)
    np.testing.assert_array_equal(binary, [True, False, True])
    assert got.tolist() == probs


def make_hand_folders(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The hand case above as files: labels r1 AF, r2 RBBB (second code), r3 NSR."""
    labels_dir, outputs_dir = tmp_path / "labels", tmp_path / "outputs"
    labels_dir.mkdir()
    write_header(labels_dir, "r1", "164889003")
    write_header(labels_dir, "r2", "59118001,10370003")  # 10370003 is not a toy class
    write_header(labels_dir, "r3", "426783006")
    write_output_file(outputs_dir / "r1.csv", "r1", TOY_CLASSES, [1, 1, 0], [0.9, 0.6, 0.1])
    write_output_file(outputs_dir / "r2.csv", "r2", TOY_CLASSES, [0, 0, 1], [0.2, 0.3, 0.8])
    # r3 written with a different column order and the other RBBB code.
    write_output_file(
        outputs_dir / "r3.csv", "r3", (NSR, "59118001", AF), [1, 0, 0], [0.7, 0.4, 0.05]
    )
    return labels_dir, outputs_dir, write_toy_weights(tmp_path / "weights.csv")


def test_folder_round_trip_scores_like_the_arrays(tmp_path: Path) -> None:
    labels_dir, outputs_dir, weights_path = make_hand_folders(tmp_path)
    scores = score_folders(labels_dir, outputs_dir, weights_path)
    assert scores.challenge_score == pytest.approx(0.375)  # the hand case above
    assert scores.accuracy == pytest.approx(1 / 3)  # only r3 is exactly right
    scalar = np.array([[0.9, 0.6, 0.1], [0.2, 0.3, 0.8], [0.05, 0.4, 0.7]])
    direct = score_arrays(HAND_LABELS, HAND_OUTPUTS, scalar, TOY_WEIGHTS)
    assert scores.to_json_dict() == direct.to_json_dict()
    np.testing.assert_array_equal(scores.auroc_classes, direct.auroc_classes)


def test_missing_output_file_scores_as_all_negative(tmp_path: Path) -> None:
    labels_dir, outputs_dir, weights_path = make_hand_folders(tmp_path)
    write_header(labels_dir, "r4", "426783006")  # no r4.csv
    # r4 adds 0 to observed, 1 to correct and 1 to always-NSR: (1.75 - 2) / (4 - 2) = -0.125
    scores = score_folders(labels_dir, outputs_dir, weights_path)
    assert scores.challenge_score == pytest.approx(-0.125)
    binary, probs = load_output_folder(outputs_dir, ["r4", "r1"], TOY_CLASSES)
    assert not binary[0].any() and not probs[0].any() and binary[1].any()


def test_no_output_file_at_all_is_an_error(tmp_path: Path) -> None:
    labels_dir, _, weights_path = make_hand_folders(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="none of the 3 records"):
        score_folders(labels_dir, tmp_path / "empty", weights_path)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "#r1\n164889003,426783006\n1,0\n",  # probabilities missing
        "164889003,426783006\n1,0\n0.5,0.1\n0.2,0.2\n",  # no #record line
        "#r1\n164889003,426783006\n1,0,1\n0.5,0.1\n",  # label count differs
        "#r1\n164889003,426783006\n1,0\n0.5\n",  # probability count differs
        "#r1\n164889003,426783006\nyes,0\n0.5,0.1\n",  # not a 0/1 label
        "#r1\n164889003,426783006\n1,0\n0.5,high\n",  # not a number
        "#r1\n164889003,426783006\n1,0\n0.5,0.1\n1,0\n",  # extra line
    ],
)
def test_malformed_output_file_is_bad_input_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken_rec.csv"
    path.write_text(text)
    with pytest.raises(BadInputError, match=r"broken_rec\.csv"):
        load_output_folder(tmp_path, ["broken_rec"], TOY_CLASSES)
