#!/usr/bin/env python3
"""scikit-learn's metrics of the predictions in a JSON file, to check Millrace's evaluator.

    sklearn_metrics.py PREDICTIONS.json

The file holds {"regression": {"labels": [...], "predictions": [...]},
"binary": {"labels": [0/1...], "probabilities": [...], "threshold": t},
"multiclass": {"labels": [...], "probabilities": [[...], ...]}}; prints the metrics as JSON.
"""

import json
import sys

import numpy as np
from sklearn import metrics


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        cases = json.load(handle)
    result = {}
    regression = cases["regression"]
    y, p = np.array(regression["labels"]), np.array(regression["predictions"])
    mse = metrics.mean_squared_error(y, p)
    result["regression"] = {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": metrics.mean_absolute_error(y, p),
        "r2": metrics.r2_score(y, p),
    }
    binary = cases["binary"]
    y, prob = np.array(binary["labels"]), np.array(binary["probabilities"])
    predicted = (prob >= binary["threshold"]).astype(int)
    result["binary"] = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "precision": metrics.precision_score(y, predicted, zero_division=0),
        "recall": metrics.recall_score(y, predicted, zero_division=0),
        "f1": metrics.f1_score(y, predicted, zero_division=0),
        "roc_auc": metrics.roc_auc_score(y, prob),
        "log_loss": metrics.log_loss(y, prob, labels=[0, 1]),
    }
    multiclass = cases["multiclass"]
    y, prob = np.array(multiclass["labels"]), np.array(multiclass["probabilities"])
    predicted = prob.argmax(axis=1)
    result["multiclass"] = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "precision": metrics.precision_score(y, predicted, average="macro", zero_division=0),
        "recall": metrics.recall_score(y, predicted, average="macro", zero_division=0),
        "f1": metrics.f1_score(y, predicted, average="macro", zero_division=0),
        "log_loss": metrics.log_loss(y, prob, labels=list(range(prob.shape[1]))),
    }
    json.dump({k: {m: float(v) for m, v in d.items()} for k, d in result.items()}, sys.stdout)


if __name__ == "__main__":
    main()
