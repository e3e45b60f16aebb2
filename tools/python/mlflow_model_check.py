"""Loads Millrace model directories with the real MLflow and predicts with them, for
tests/mlflow_models.rs (crates/millrace-components/tests): every directory through
`mlflow.pyfunc.load_model` and through the loader of its framework's flavor (`mlflow.sklearn`,
`mlflow.xgboost`, `mlflow.tensorflow`, `mlflow.pytorch`).

    python mlflow_model_check.py REQUEST_JSON

The request is `{"rows": {"feature": [number, ...], ...}, "models": [MODEL_DIR, ...]}`; every
model predicts the same rows, each in one process (so a second model's `millrace_model` loader
meets the first one's already imported). The answer, on standard output, is one JSON object:

    {"mlflow_version": "3.17.2",
     "models": [{"dir": ..., "flavor": "sklearn", "loaded": "sklearn.linear_model...",
                 "signature": [["x1", "double"], ...], "task": "regression",
                 "pyfunc": [number, ...], "flavor_predictions": [number, ...]}, ...]}

Predictions are the regression value or the probability of class 1, as Millrace serves them.
Anything else (MLflow's warnings) goes to standard error.
"""

import contextlib
import json
import sys

FLAVORS = ("sklearn", "xgboost", "tensorflow", "pytorch")


def frame(rows, signature):
    """The rows as a DataFrame whose columns have the signature's types."""
    import pandas as pd

    dtypes = {"long": "int64", "integer": "int32", "double": "float64", "float": "float32"}
    return pd.DataFrame(
        {
            name: pd.Series(rows[name], dtype=dtypes.get(kind, "float64"))
            for name, kind in signature
        }
    )


def flavor_predictions(flavor, model_dir, task, x):
    """The flavor's loader's model and what it predicts for the matrix `x`."""
    import numpy as np

    if flavor == "sklearn":
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(model_dir)
    elif flavor == "xgboost":
        import mlflow.xgboost

        model = mlflow.xgboost.load_model(model_dir)
    elif flavor == "tensorflow":
        import mlflow.tensorflow

        model = mlflow.tensorflow.load_model(model_dir)
        out = model.predict(x.astype("float32"), verbose=0)
        return model, np.asarray(out, dtype="float64").reshape(-1)
    else:
        import mlflow.pytorch
        import torch

        model = mlflow.pytorch.load_model(model_dir)
        with torch.no_grad():
            out = model(torch.tensor(x, dtype=torch.float32))
        return model, out.double().numpy().reshape(-1)
    if task == "binary_classification":
        column = list(model.classes_).index(1)
        return model, np.asarray(model.predict_proba(x)[:, column], dtype="float64")
    return model, np.asarray(model.predict(x), dtype="float64")


def check(model_dir, rows):
    import mlflow.pyfunc
    from mlflow.models import Model

    meta = Model.load(model_dir)
    signature = [(spec.name, spec.type.name) for spec in meta.signature.inputs.inputs]
    flavor = next(name for name in FLAVORS if name in meta.flavors)
    task = meta.metadata["millrace_task"]
    data = frame(rows, signature)
    pyfunc = mlflow.pyfunc.load_model(model_dir)
    predicted = [float(v) for v in pyfunc.predict(data)]
    x = data.to_numpy(dtype="float64")
    model, by_flavor = flavor_predictions(flavor, model_dir, task, x)
    return {
        "dir": model_dir,
        "flavor": flavor,
        "loaded": f"{type(model).__module__}.{type(model).__name__}",
        "signature": signature,
        "task": task,
        "pyfunc": predicted,
        "flavor_predictions": [float(v) for v in by_flavor],
    }


def main():
    with open(sys.argv[1]) as source:
        request = json.load(source)
    # MLflow and the frameworks talk on standard output too; it is the answer's alone.
    with contextlib.redirect_stdout(sys.stderr):
        import mlflow

        models = [check(model_dir, request["rows"]) for model_dir in request["models"]]
    print(json.dumps({"mlflow_version": mlflow.__version__, "models": models}))


if __name__ == "__main__":
    main()
