"""Scoring: the PhysioNet/CinC Challenge 2021 metrics, on arrays or on Challenge-format folders."""

from ecgbench.metrics.bootstrap import (
    Interval,
    PairedDrop,
    ScoreIntervals,
    bootstrap_scores,
    paired_drop,
)
from ecgbench.metrics.challenge import (
    ChallengeScores,
    compute_accuracy,
    compute_auc,
    compute_challenge_metric,
    compute_f_measure,
    compute_modified_confusion_matrix,
    normal_class_index,
    score_arrays,
)
from ecgbench.metrics.scoring_io import (
    load_label_folder,
    load_output_file,
    load_output_folder,
    score_folders,
    write_output_file,
)
from ecgbench.metrics.ties import Replicates, ScoreDifference, paired_difference, records_digest

__all__ = [
    "ChallengeScores",
    "Interval",
    "PairedDrop",
    "Replicates",
    "ScoreDifference",
    "ScoreIntervals",
    "bootstrap_scores",
    "compute_accuracy",
    "compute_auc",
    "compute_challenge_metric",
    "compute_f_measure",
    "compute_modified_confusion_matrix",
    "load_label_folder",
    "load_output_file",
    "load_output_folder",
    "normal_class_index",
    "paired_difference",
    "paired_drop",
    "records_digest",
    "score_arrays",
    "score_folders",
    "write_output_file",
]
