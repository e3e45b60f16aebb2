#!/usr/bin/env python3
"""scikit-learn's metrics of the predictions in a JSON file, to check Millrace's evaluator.

    sklearn_metrics.py PREDICTIONS.json

The file holds {"regression": {"labels": [...], "predictions": [...]},
"binary": {"labels": [0/1...], "probabilities": [...], "threshold": t},
"multiclass": {"labels": [...], "probabilities": [[...], ...]}} (and any further multiclass case
under a key starting "multiclass"; a case may name its "classes", the labels then being those
names); prints the metrics as JSON: numbers, and for multiclass cases
per-class lists and the confusion matrix (rows true, columns predicted).
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
    for name, multiclass in cases.items():
        if name.startswith("multiclass"):
            result[name] = multiclass_metrics(multiclass)
    json.dump(result, sys.stdout, default=float)


def multiclass_metrics(multiclass: dict) -> dict:
    y, prob = np.array(multiclass["labels"]), np.array(multiclass["probabilities"])
    # Class names (the columns of the probabilities, sorted), or indices when not given.
    classes = multiclass.get("classes", list(range(prob.shape[1])))
    predicted = np.asarray(classes)[prob.argmax(axis=1)]
    result = {
        "accuracy": metrics.accuracy_score(y, predicted),
        "log_loss": metrics.log_loss(y, prob, labels=classes),
    }
    for average, prefix in (("macro", ""), ("weighted", "weighted_")):
        result[prefix + "precision"] = metrics.precision_score(
            y, predicted, average=average, zero_division=0
        )
        result[prefix + "recall"] = metrics.recall_score(
            y, predicted, average=average, zero_division=0
        )
        result[prefix + "f1"] = metrics.f1_score(y, predicted, average=average, zero_division=0)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y, predicted, labels=classes, average=None, zero_division=0
    )
    result["per_class"] = {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
    }
    result["confusion_matrix"] = metrics.confusion_matrix(y, predicted, labels=classes).tolist()
    return result

if __name__ == "__main__":
    main()
