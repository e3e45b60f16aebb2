"""Millrace's Python models: train scikit-learn, XGBoost, PyTorch or TensorFlow models on Millrace
Examples and serve them through the predict contract.

Millrace runs this file as a command component (`python3 -c <this file> train ...`); the trained
model directory receives a copy of it, so a model serves with nothing but Python 3.10+ and its
framework:

    python3 millrace_model.py train --framework sklearn --estimator random_forest_regressor \
        --task regression --label fare --examples EXAMPLES_DIR --model-dir MODEL_DIR \
        [--features a,b] [--split train] [--hyperparameters JSON] [--transform-graph DIR] \
        [--executor-output FILE] [--python INTERPRETER] [--pipeline P --run-id R --node-id N]
    python3 MODEL_DIR/millrace_model.py serve MODEL_DIR

The predict contract (`serve`): once the model is loaded the process writes one line,
`{"ready": true, "framework": ...}`, to standard output. Then, for every line it reads, a JSON
object `{"inputs": {"feature": [number, ...], ...}}` holding the signature's features (already
transformed, every row complete), it writes one line `{"predictions": [number, ...]}` — the
regression value or the probability of class 1 — or `{"error": "..."}`. It exits at the end of
its input. Anything else it has to say goes to standard error.

Every model directory is also an MLflow model directory (`MLmodel`, `conda.yaml`,
`python_env.yaml`, `requirements.txt`, written here without MLflow installed): its
`python_function` flavor loads this file (`loader_module: millrace_model`, found through
`code: .`) and predicts exactly what `serve` answers; the framework's own flavor (`sklearn`,
`xgboost`, `tensorflow` or `pytorch`) loads the fitted model with MLflow's loader of that flavor.
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import shutil
import sys
import time
import uuid

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT_VERSION = 1
SCRIPT_FILE = "millrace_model.py"
TRANSFORM_GRAPH_FILE = "transform_graph.json"
TASKS = ("regression", "binary_classification")


class UsageError(Exception):
    """A problem with what the trainer was asked to do, reported without a traceback."""


# --- Examples -----------------------------------------------------------------------------------


def read_split(examples_dir, split):
    """The rows of one split of a Millrace Examples artifact, as a pyarrow Table."""
    import pyarrow.parquet as pq

    path = os.path.join(examples_dir, "Split-" + split)
    if not os.path.isdir(path):
        present = sorted(
            name[len("Split-"):] for name in os.listdir(examples_dir) if name.startswith("Split-")
        )
        raise UsageError(f"the examples have no split `{split}` (they have {present})")
    return pq.read_table(path)


def numeric_columns(table, label):
    """Every integer or floating point column except the label."""
    import pyarrow.types as types

    return [
        field.name
        for field in table.schema
        if field.name != label and (types.is_integer(field.type) or types.is_floating(field.type))
    ]


def feature_type(table, name):
    """The Millrace feature type of a column: `int` or `float`."""
    import pyarrow.types as types

    if name not in table.column_names:
        raise UsageError(f"the examples have no feature `{name}`")
    column_type = table.schema.field(name).type
    if types.is_integer(column_type):
        return "int"
    if types.is_floating(column_type):
        return "float"
    raise UsageError(
        f"feature `{name}` is not numeric ({column_type}); encode it with a Transform "
        "vocabulary, one-hot or hash op"
    )


def matrix(table, features, label):
    """Features and label as float64 arrays, leaving out rows with a missing value."""
    import numpy as np

    names = list(features) + [label]
    for name in names:
        if name not in table.column_names:
            raise UsageError(f"the examples have no column `{name}`")
    columns = [table.column(name).to_numpy(zero_copy_only=False).astype("float64") for name in names]
    data = np.column_stack(columns) if columns else np.empty((table.num_rows, 0))
    complete = ~np.isnan(data).any(axis=1)
    kept = data[complete]
    return kept[:, :-1], kept[:, -1], int((~complete).sum())


# --- Frameworks ---------------------------------------------------------------------------------


SKLEARN_ESTIMATORS = {
    "linear_regression": ("sklearn.linear_model", "LinearRegression", "regression"),
    "ridge": ("sklearn.linear_model", "Ridge", "regression"),
    "random_forest_regressor": ("sklearn.ensemble", "RandomForestRegressor", "regression"),
    "gradient_boosting_regressor": (
        "sklearn.ensemble",
        "HistGradientBoostingRegressor",
        "regression",
    ),
    "logistic_regression": ("sklearn.linear_model", "LogisticRegression", "binary_classification"),
    "random_forest_classifier": (
        "sklearn.ensemble",
        "RandomForestClassifier",
        "binary_classification",
    ),
    "gradient_boosting_classifier": (
        "sklearn.ensemble",
        "HistGradientBoostingClassifier",
        "binary_classification",
    ),
}


class ScikitLearn:
    name = "sklearn"
    file = "model.joblib"
    pickled_model = "model.pkl"

    @staticmethod
    def version():
        import sklearn

        return "scikit-learn " + sklearn.__version__

    @staticmethod
    def check(estimator, task):
        if estimator not in SKLEARN_ESTIMATORS:
            raise UsageError(
                f"unknown scikit-learn estimator `{estimator}`; known: {sorted(SKLEARN_ESTIMATORS)}"
            )
        estimator_task = SKLEARN_ESTIMATORS[estimator][2]
        if estimator_task != task:
            raise UsageError(f"`{estimator}` is a {estimator_task} estimator, not {task}")

    @staticmethod
    def fit(estimator, task, hyperparameters, x, y):
        import importlib

        module, class_name, _ = SKLEARN_ESTIMATORS[estimator]
        cls = getattr(importlib.import_module(module), class_name)
        try:
            model = cls(**hyperparameters)
        except TypeError as error:
            raise UsageError(f"bad hyper-parameters for {class_name}: {error}") from error
        return model.fit(x, y)

    @staticmethod
    def save(model, model_dir):
        import joblib

        joblib.dump(model, os.path.join(model_dir, ScikitLearn.file))

    @staticmethod
    def load(model_dir):
        import joblib

        return joblib.load(os.path.join(model_dir, ScikitLearn.file))

    @staticmethod
    def predict(model, task, x):
        if task == "binary_classification":
            return model.predict_proba(x)[:, list(model.classes_).index(1.0)]
        return model.predict(x)

    @staticmethod
    def mlflow(model, model_dir, task):
        """The `sklearn` flavor: the estimator pickled again at `model.pkl`, with cloudpickle where
        it is installed (as MLflow itself does) or else pickle, which `mlflow.sklearn.load_model`
        unpickles as `serialization_format` says."""
        import sklearn

        try:
            import cloudpickle as pickler

            serialization, requirements = "cloudpickle", ["scikit-learn", "cloudpickle"]
        except ImportError:
            import pickle as pickler

            serialization, requirements = "pickle", ["scikit-learn"]
        with open(os.path.join(model_dir, ScikitLearn.pickled_model), "wb") as out:
            pickler.dump(model, out)
        flavor = {
            "code": None,
            "pickled_model": ScikitLearn.pickled_model,
            "serialization_format": serialization,
            "sklearn_version": sklearn.__version__,
        }
        return {"sklearn": flavor}, requirements


class XGBoost:
    name = "xgboost"
    file = "model.ubj"

    @staticmethod
    def version():
        import xgboost

        return "xgboost " + xgboost.__version__

    @staticmethod
    def estimator_class(task):
        import xgboost

        return xgboost.XGBClassifier if task == "binary_classification" else xgboost.XGBRegressor

    @staticmethod
    def check(estimator, task):
        if estimator not in ("gradient_boosting", ""):
            raise UsageError(f"unknown XGBoost estimator `{estimator}`; known: ['gradient_boosting']")

    @staticmethod
    def fit(estimator, task, hyperparameters, x, y):
        try:
            model = XGBoost.estimator_class(task)(**hyperparameters)
        except TypeError as error:
            raise UsageError(f"bad hyper-parameters for XGBoost: {error}") from error
        return model.fit(x, y.astype("int64") if task == "binary_classification" else y)

    @staticmethod
    def save(model, model_dir):
        model.save_model(os.path.join(model_dir, XGBoost.file))

    @staticmethod
    def load(model_dir):
        manifest = read_manifest(model_dir)
        model = XGBoost.estimator_class(manifest["task"])()
        model.load_model(os.path.join(model_dir, XGBoost.file))
        return model

    @staticmethod
    def predict(model, task, x):
        if task == "binary_classification":
            return model.predict_proba(x)[:, 1]
        return model.predict(x)

    @staticmethod
    def mlflow(model, model_dir, task):
        """The `xgboost` flavor: `mlflow.xgboost.load_model` instantiates `model_class` and loads
        `data` into it; `model.ubj` is already the file (and UBJSON the format) MLflow writes."""
        import xgboost

        flavor = {
            "code": None,
            "data": XGBoost.file,
            "model_class": f"{type(model).__module__}.{type(model).__name__}",
            "model_format": "ubj",
            "xgb_version": xgboost.__version__,
        }
        return {"xgboost": flavor}, ["xgboost", "xgboost-cpu", "scikit-learn"]


class PyTorch:
    """A multilayer perceptron on standardised inputs, trained with Adam on full batches."""

    name = "pytorch"
    file = "model.pt"
    settings_file = "network.json"
    mlflow_data = "data"

    @staticmethod
    def version():
        import torch

        return "pytorch " + torch.__version__

    @staticmethod
    def network(inputs, hidden):
        import torch

        layers, width = [], inputs
        for size in hidden:
            layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
            width = size
        layers.append(torch.nn.Linear(width, 1))
        return torch.nn.Sequential(*layers)

    @staticmethod
    def check(estimator, task):
        if estimator not in ("mlp", ""):
            raise UsageError(f"unknown PyTorch estimator `{estimator}`; known: ['mlp']")

    @staticmethod
    def fit(estimator, task, hyperparameters, x, y):
        import torch

        settings = {"hidden": [32, 16], "epochs": 300, "learning_rate": 0.01, "seed": 0}
        unknown = sorted(set(hyperparameters) - set(settings))
        if unknown:
            raise UsageError(f"unknown hyper-parameters for the PyTorch MLP: {unknown}")
        settings.update(hyperparameters)
        torch.manual_seed(int(settings["seed"]))
        mean, std = x.mean(axis=0), x.std(axis=0)
        std[std == 0] = 1.0
        inputs = torch.tensor((x - mean) / std, dtype=torch.float32)
        target = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
        network = PyTorch.network(x.shape[1], settings["hidden"])
        loss_of = (
            torch.nn.BCEWithLogitsLoss() if task == "binary_classification" else torch.nn.MSELoss()
        )
        optimizer = torch.optim.Adam(network.parameters(), lr=float(settings["learning_rate"]))
        for _ in range(int(settings["epochs"])):
            optimizer.zero_grad()
            loss = loss_of(network(inputs), target)
            loss.backward()
            optimizer.step()
        settings.update(mean=mean.tolist(), std=std.tolist(), inputs=int(x.shape[1]))
        return {"network": network, "settings": settings}

    @staticmethod
    def save(model, model_dir):
        import torch

        torch.save(model["network"].state_dict(), os.path.join(model_dir, PyTorch.file))
        with open(os.path.join(model_dir, PyTorch.settings_file), "w") as out:
            json.dump(model["settings"], out)

    @staticmethod
    def load(model_dir):
        import torch

        with open(os.path.join(model_dir, PyTorch.settings_file)) as source:
            settings = json.load(source)
        network = PyTorch.network(settings["inputs"], settings["hidden"])
        network.load_state_dict(torch.load(os.path.join(model_dir, PyTorch.file)))
        network.eval()
        return {"network": network, "settings": settings}

    @staticmethod
    def predict(model, task, x):
        import numpy as np
        import torch

        settings = model["settings"]
        inputs = (x - np.array(settings["mean"])) / np.array(settings["std"])
        with torch.no_grad():
            out = model["network"](torch.tensor(inputs, dtype=torch.float32)).reshape(-1)
            if task == "binary_classification":
                out = torch.sigmoid(out)
        return out.double().numpy()

    @staticmethod
    def mlflow(model, model_dir, task):
        """The `pytorch` flavor: `mlflow.pytorch.load_model` unpickles a whole module from
        `data/model.pth` with the pickle module `data/pickle_module_info.txt` names. The module
        saved there is made of torch's own layers only (so it unpickles without this file):
        a linear layer that standardises the inputs as `predict` does, the network and, for a
        classifier, the sigmoid. It maps a float32 `[rows, features]` tensor to `[rows, 1]`."""
        import pickle

        import torch

        settings = model["settings"]
        std = torch.tensor(settings["std"], dtype=torch.float32)
        mean = torch.tensor(settings["mean"], dtype=torch.float32)
        standardise = torch.nn.Linear(settings["inputs"], settings["inputs"])
        with torch.no_grad():
            standardise.weight.copy_(torch.diag(1.0 / std))
            standardise.bias.copy_(-mean / std)
        layers = [standardise, *model["network"]]
        if task == "binary_classification":
            layers.append(torch.nn.Sigmoid())
        whole = torch.nn.Sequential(*layers).eval()
        data = os.path.join(model_dir, PyTorch.mlflow_data)
        os.makedirs(data, exist_ok=True)
        torch.save(whole, os.path.join(data, "model.pth"), pickle_module=pickle)
        with open(os.path.join(data, "pickle_module_info.txt"), "w") as out:
            out.write(pickle.__name__)
        flavor = {"code": None, "model_data": PyTorch.mlflow_data, "pytorch_version": torch.__version__}
        return {"pytorch": flavor}, ["torch"]


class TensorFlow:
    """A Keras multilayer perceptron whose first layer standardises the inputs, trained with Adam
    on mini-batches and exported as a TensorFlow SavedModel.

    The SavedModel (`saved_model/`, written by Keras 3's `model.export`) holds the normalisation,
    the network and, for classification, the sigmoid: its `serve` endpoint takes a float32
    matrix `[rows, features]` in the signature's order and returns `[rows, 1]` — the regression
    value or the probability of class 1. Serving needs TensorFlow only, not Keras.
    """

    name = "tensorflow"
    directory = "saved_model"
    mlflow_data = "data"
    defaults = {
        "hidden": [32, 16],
        "epochs": 40,
        "batch_size": 128,
        "learning_rate": 0.003,
        "seed": 0,
    }

    @staticmethod
    def quiet():
        # TensorFlow's C++ start-up notes go to standard error; keep only warnings and errors.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    @staticmethod
    def version():
        TensorFlow.quiet()
        import tensorflow

        return "tensorflow " + tensorflow.__version__

    @staticmethod
    def check(estimator, task):
        if estimator not in ("mlp", ""):
            raise UsageError(f"unknown TensorFlow estimator `{estimator}`; known: ['mlp']")

    @staticmethod
    def settings(hyperparameters):
        settings = dict(TensorFlow.defaults)
        unknown = sorted(set(hyperparameters) - set(settings))
        if unknown:
            raise UsageError(
                f"unknown hyper-parameters for the TensorFlow MLP: {unknown}; "
                f"known: {sorted(settings)}"
            )
        settings.update(hyperparameters)
        hidden = settings["hidden"]
        if not isinstance(hidden, list) or not all(
            isinstance(width, int) and width > 0 for width in hidden
        ):
            raise UsageError(f"`hidden` must be a list of positive layer widths, not {hidden!r}")
        for name in ("epochs", "batch_size"):
            if not isinstance(settings[name], int) or settings[name] <= 0:
                raise UsageError(f"`{name}` must be a positive integer, not {settings[name]!r}")
        rate = settings["learning_rate"]
        if not isinstance(rate, (int, float)) or rate <= 0:
            raise UsageError(f"`learning_rate` must be a positive number, not {rate!r}")
        if not isinstance(settings["seed"], int):
            raise UsageError(f"`seed` must be an integer, not {settings['seed']!r}")
        return settings

    @staticmethod
    def fit(estimator, task, hyperparameters, x, y):
        settings = TensorFlow.settings(hyperparameters)
        TensorFlow.quiet()
        import keras
        import tensorflow as tf

        # The same seed gives the same model: seeded initialisation and shuffling, and
        # deterministic kernels.
        keras.utils.set_random_seed(settings["seed"])
        tf.config.experimental.enable_op_determinism()
        normalise = keras.layers.Normalization(axis=-1)
        normalise.adapt(x.astype("float32"))
        layers = [keras.Input(shape=(x.shape[1],), dtype="float32"), normalise]
        layers += [keras.layers.Dense(width, activation="relu") for width in settings["hidden"]]
        classify = task == "binary_classification"
        layers.append(keras.layers.Dense(1, activation="sigmoid" if classify else None))
        model = keras.Sequential(layers)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=float(settings["learning_rate"])),
            loss="binary_crossentropy" if classify else "mean_squared_error",
        )
        model.fit(
            x.astype("float32"),
            y.astype("float32"),
            epochs=settings["epochs"],
            batch_size=settings["batch_size"],
            shuffle=True,
            verbose=0,
        )
        return model

    @staticmethod
    def save(model, model_dir):
        import contextlib

        # Keras prints where it saved to standard output; the trainer's output is for Millrace.
        with contextlib.redirect_stdout(sys.stderr):
            model.export(os.path.join(model_dir, TensorFlow.directory), format="tf_saved_model")

    @staticmethod
    def load(model_dir):
        TensorFlow.quiet()
        import tensorflow as tf

        return tf.saved_model.load(os.path.join(model_dir, TensorFlow.directory))

    @staticmethod
    def predict(model, task, x):
        import tensorflow as tf

        inputs = tf.constant(x, dtype=tf.float32)
        if hasattr(model, "serve"):
            out = model.serve(inputs)
        else:
            out = model(inputs, training=False)
        return tf.reshape(out, [-1]).numpy().astype("float64")

    @staticmethod
    def mlflow(model, model_dir, task):
        """The `tensorflow` flavor with `model_type: keras`: the Keras model saved again in Keras
        3's own format at `data/model.keras`, which `mlflow.tensorflow.load_model` opens with
        `keras.models.load_model` (the module `keras_module` names) into a full Keras model.

        Why this and not `model_type: tf2-module` pointing at `saved_model/`: MLflow 3.17.2
        itself saves a Keras 3 model this way (Keras 3 saves only `.keras` and `.h5` files, and
        MLflow looks for `model.keras` under `data`), and the user gets back the Keras model
        they trained, with its layers and `predict`, not an inference-only graph. The
        `python_function` flavor does not use this copy: it serves the SavedModel through
        `serve`'s code, as Millrace does.
        """
        import contextlib

        import keras

        data = os.path.join(model_dir, TensorFlow.mlflow_data)
        os.makedirs(data, exist_ok=True)
        with contextlib.redirect_stdout(sys.stderr):
            model.save(os.path.join(data, "model.keras"))
        # What MLflow's own pyfunc loader of this flavor reads; its `load_model` reads the
        # flavor's keys below.
        with open(os.path.join(data, "keras_module.txt"), "w") as out:
            out.write("keras")
        with open(os.path.join(data, "save_format.txt"), "w") as out:
            out.write("keras")
        flavor = {
            "code": None,
            "data": TensorFlow.mlflow_data,
            "keras_module": "keras",
            "keras_version": keras.__version__,
            "model_type": "keras",
            "save_format": "keras",
        }
        return {"tensorflow": flavor}, ["tensorflow", "tensorflow-cpu", "keras"]


FRAMEWORKS = {
    framework.name: framework for framework in (ScikitLearn, XGBoost, PyTorch, TensorFlow)
}


# --- MLflow model directories -------------------------------------------------------------------

# The MLflow release whose model directory format (MLmodel keys, flavors, environment files) these
# files follow and were checked against; MLflow is not needed to write them.
MLFLOW_FORMAT_VERSION = "3.17.2"
MLMODEL_FILE = "MLmodel"
CONDA_FILE = "conda.yaml"
PYTHON_ENV_FILE = "python_env.yaml"
REQUIREMENTS_FILE = "requirements.txt"
# MLflow's names of Millrace's feature types.
MLFLOW_TYPES = {"int": "long", "float": "double"}
YAML_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def yaml_scalar(value):
    """One YAML scalar: bare where YAML reads it back as the same string, else double-quoted."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    bare = (
        text
        and (text[0].isalpha() or text[0] == "_")
        and all(c.isascii() and (c.isalnum() or c in "_.-") for c in text)
        and text.lower() not in YAML_RESERVED
    )
    if bare:
        return text
    quoted = []
    for c in text:
        code = ord(c)
        if c in '"\\':
            quoted.append("\\" + c)
        elif 0x20 <= code < 0x7F:
            quoted.append(c)
        elif code <= 0xFF:
            quoted.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            quoted.append(f"\\u{code:04x}")
        else:
            quoted.append(f"\\U{code:08x}")
    return '"' + "".join(quoted) + '"'


def yaml_lines(node, indent=""):
    """A mapping or a list in YAML's block style, one line a scalar."""
    lines = []
    items = node.items() if isinstance(node, dict) else ((None, item) for item in node)
    for key, item in items:
        lead = f"{indent}{yaml_scalar(str(key))}:" if isinstance(node, dict) else f"{indent}-"
        if isinstance(item, (dict, list)) and item:
            nested = yaml_lines(item, indent + "  ")
            if isinstance(node, dict):
                lines += [lead] + nested
            else:
                lines += [f"{lead} {nested[0].lstrip()}"] + nested[1:]
        elif isinstance(item, (dict, list)):
            lines.append(f"{lead} {'{}' if isinstance(item, dict) else '[]'}")
        else:
            lines.append(f"{lead} {yaml_scalar(item)}")
    return lines


def write_yaml(path, node):
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(yaml_lines(node)) + "\n")


def installed_version(distribution):
    """The version of an installed distribution, or None."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def pinned(distributions):
    """`name==version` for each installed distribution, in order, once."""
    pins = []
    for name in distributions:
        version = installed_version(name)
        pin = f"{name}=={version}"
        if version and pin not in pins:
            pins.append(pin)
    return pins


def mlflow_signature(signature):
    """MLflow's signature: the features as named columns of their types; the output a float64
    vector, one prediction a row, as `PyFuncModel.predict` returns it."""
    inputs = [
        {"type": MLFLOW_TYPES[field["type"]], "name": field["name"], "required": True}
        for field in signature
    ]
    outputs = [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]
    return {"inputs": json.dumps(inputs), "outputs": json.dumps(outputs), "params": None}


def write_mlflow_model(model_dir, framework, model, task, signature, metadata):
    """Makes the model directory an MLflow model directory too: the framework's flavor (with its
    files in the layout MLflow's loader of that flavor reads), the `python_function` flavor
    served by this file, the signature and the environment files, pinned to the versions that
    trained the model."""
    flavors, distributions = framework.mlflow(model, model_dir, task)
    python_version = platform.python_version()
    flavors["python_function"] = {
        # MLflow puts `code` on `sys.path` and calls `millrace_model._load_pyfunc(model_dir)`.
        "code": ".",
        "env": {"conda": CONDA_FILE, "virtualenv": PYTHON_ENV_FILE},
        "loader_module": "millrace_model",
        "python_version": python_version,
    }
    mlmodel = {
        "flavors": flavors,
        "metadata": metadata,
        "mlflow_version": MLFLOW_FORMAT_VERSION,
        "model_uuid": uuid.uuid4().hex,
        "signature": mlflow_signature(signature),
        "utc_time_created": str(datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)),
    }
    write_yaml(os.path.join(model_dir, MLMODEL_FILE), mlmodel)
    requirements = [f"mlflow=={MLFLOW_FORMAT_VERSION}"] + pinned(["numpy"] + distributions)
    with open(os.path.join(model_dir, REQUIREMENTS_FILE), "w") as out:
        out.write("\n".join(requirements) + "\n")
    build = pinned(["pip", "setuptools", "wheel"])
    pip = installed_version("pip")
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [f"python={python_version}", f"pip<={pip}" if pip else "pip"]
        + [{"pip": requirements}],
        "name": "mlflow-env",
    }
    write_yaml(os.path.join(model_dir, CONDA_FILE), conda)
    python_env = {
        "python": python_version,
        "build_dependencies": build or ["pip"],
        "dependencies": ["-r " + REQUIREMENTS_FILE],
    }
    write_yaml(os.path.join(model_dir, PYTHON_ENV_FILE), python_env)


class PyFuncModel:
    """What `mlflow.pyfunc.load_model` wraps: the model as `serve` loads it, predicting what
    `serve` answers for a pandas DataFrame (or a matrix in the signature's order) of features,
    already transformed, every row complete."""

    def __init__(self, model_dir):
        manifest = read_manifest(model_dir)
        self.framework = serving_framework(manifest)
        self.task = manifest["task"]
        self.features = [field["name"] for field in manifest["signature"]["inputs"]]
        self.model = self.framework.load(model_dir)

    def predict(self, model_input, params=None):
        import numpy as np

        if hasattr(model_input, "columns"):
            missing = [name for name in self.features if name not in model_input.columns]
            if missing:
                raise ValueError(f"the input has no feature {missing}")
            x = np.column_stack(
                [np.asarray(model_input[name], dtype="float64") for name in self.features]
            )
        else:
            x = np.asarray(model_input, dtype="float64").reshape(-1, len(self.features))
        return np.asarray(self.framework.predict(self.model, self.task, x), dtype="float64")


def _load_pyfunc(path):
    """MLflow's entry point (`loader_module: millrace_model`). Another model's copy of this file
    may be the module already imported under that name, so a model always serves with its own."""
    own = os.path.join(path, SCRIPT_FILE)
    this = globals().get("__file__")
    if os.path.isfile(own) and not (this and os.path.samefile(own, this)):
        spec = importlib.util.spec_from_file_location(f"millrace_model_{uuid.uuid4().hex}", own)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.PyFuncModel(path)
    return PyFuncModel(path)


# --- Training -----------------------------------------------------------------------------------


def training_metrics(task, y, predicted):
    """The figures the Rust trainer records too: RMSE, MAE, R² or accuracy and log loss."""
    import numpy as np

    if len(y) == 0:
        return {}
    if task == "regression":
        error = predicted - y
        total = ((y - y.mean()) ** 2).sum()
        metrics = {
            "rmse": float(np.sqrt((error**2).mean())),
            "mae": float(np.abs(error).mean()),
        }
        if total > 0:
            metrics["r2"] = float(1.0 - (error**2).sum() / total)
        return metrics
    eps = np.finfo("float64").eps
    p = np.clip(predicted, eps, 1 - eps)
    truth = y >= 0.5
    return {
        "accuracy": float(((predicted >= 0.5) == truth).mean()),
        "log_loss": float(-(truth * np.log(p) + (~truth) * np.log(1 - p)).mean()),
    }


def train(args):
    framework = FRAMEWORKS[args.framework]
    if args.task not in TASKS:
        raise UsageError(f"unknown task `{args.task}`; known: {list(TASKS)}")
    try:
        hyperparameters = json.loads(args.hyperparameters)
    except ValueError as error:
        raise UsageError(f"--hyperparameters is not JSON: {error}") from error
    if not isinstance(hyperparameters, dict):
        raise UsageError("--hyperparameters must be a JSON object")
    framework.check(args.estimator, args.task)
    if hasattr(framework, "settings"):
        # Bad settings are refused before any example is read.
        framework.settings(hyperparameters)
    table = read_split(args.examples, args.split)
    if table.num_rows == 0:
        raise UsageError(f"split `{args.split}` has no rows")
    features = [f for f in args.features.split(",") if f] or numeric_columns(table, args.label)
    if not features:
        raise UsageError("the examples have no numeric feature besides the label")
    signature = [{"name": name, "type": feature_type(table, name)} for name in features]
    x, y, skipped = matrix(table, features, args.label)
    if len(y) == 0:
        raise UsageError(f"no row of split `{args.split}` has every feature and the label")
    started = time.perf_counter()
    model = framework.fit(args.estimator, args.task, hyperparameters, x, y)
    fit_seconds = time.perf_counter() - started
    metrics = training_metrics(args.task, y, framework.predict(model, args.task, x))

    os.makedirs(args.model_dir, exist_ok=True)
    framework.save(model, args.model_dir)
    write_script(args.model_dir)
    transform_graph = None
    if args.transform_graph:
        shutil.copy(
            os.path.join(args.transform_graph, TRANSFORM_GRAPH_FILE),
            os.path.join(args.model_dir, TRANSFORM_GRAPH_FILE),
        )
        transform_graph = TRANSFORM_GRAPH_FILE
    manifest = {
        "format_version": MANIFEST_FORMAT_VERSION,
        "flavor": {
            "command": {
                "predict": [args.python, "{model_dir}/" + SCRIPT_FILE, "serve", "{model_dir}"]
            }
        },
        "framework": framework.version(),
        "task": args.task,
        "signature": {"inputs": signature, "label": args.label},
        "metrics": metrics,
    }
    if transform_graph:
        manifest["transform_graph"] = transform_graph
    if args.run_id:
        manifest["produced_by"] = {
            "pipeline": args.pipeline,
            "run_id": args.run_id,
            "node": args.node_id,
        }
    metadata = {"millrace_framework": manifest["framework"], "millrace_task": args.task}
    metadata.update({"millrace_" + key: value for key, value in manifest.get("produced_by", {}).items()})
    write_mlflow_model(args.model_dir, framework, model, args.task, signature, metadata)
    # The manifest is written last: a model directory with a manifest is complete.
    with open(os.path.join(args.model_dir, MANIFEST_FILE), "w") as out:
        json.dump(manifest, out, indent=2)
    summary = (
        f"fitted {framework.name} {args.estimator} on {len(y)} examples of split {args.split} "
        f"({skipped} left out for missing values), {len(features)} features, "
        f"in {fit_seconds:.3f} s"
    )
    print(f"{summary}: {metrics}", file=sys.stderr)
    if args.executor_output:
        figures = dict(metrics, fit_seconds=fit_seconds)
        output = {
            "outputs": {
                "model": {
                    "custom_properties": {
                        "framework": manifest["framework"],
                        "estimator": args.estimator,
                    }
                }
            },
            "metrics": {"train_" + name: value for name, value in figures.items()},
            "summary": summary,
        }
        with open(args.executor_output, "w") as out:
            json.dump(output, out)


def write_script(model_dir):
    """Copies this file into the model, from its file or, under `python3 -c`, from the command."""
    target = os.path.join(model_dir, SCRIPT_FILE)
    if "__file__" in globals():
        shutil.copy(__file__, target)
        return
    argv = sys.orig_argv
    source = argv[argv.index("-c") + 1]
    with open(target, "w") as out:
        out.write(source)


# --- Serving ------------------------------------------------------------------------------------


def read_manifest(model_dir):
    with open(os.path.join(model_dir, MANIFEST_FILE)) as source:
        return json.load(source)


def serving_framework(manifest):
    """The framework of the model a manifest describes."""
    name = manifest["framework"].split(" ")[0]
    framework = {
        "scikit-learn": ScikitLearn,
        "xgboost": XGBoost,
        "pytorch": PyTorch,
        "tensorflow": TensorFlow,
    }.get(name)
    if framework is None:
        raise UsageError(f"this script does not serve {manifest['framework']} models")
    return framework


def serve(model_dir):
    import numpy as np

    manifest = read_manifest(model_dir)
    framework = serving_framework(manifest)
    task = manifest["task"]
    features = [field["name"] for field in manifest["signature"]["inputs"]]
    model = framework.load(model_dir)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "framework": manifest["framework"]}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)["inputs"]
            missing = [name for name in features if name not in request]
            if missing:
                raise ValueError(f"the request has no feature {missing}")
            x = np.column_stack([np.asarray(request[name], dtype="float64") for name in features])
            predicted = framework.predict(model, task, x)
            values = [float(v) if math.isfinite(v) else None for v in predicted]
            response = {"predictions": values}
        except Exception as error:  # noqa: BLE001 - every failure is the client's answer
            response = {"error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(response) + "\n")
        out.flush()


def main():
    parser = argparse.ArgumentParser(prog=SCRIPT_FILE, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    trainer = commands.add_parser("train", help="train a model on Millrace Examples")
    trainer.add_argument("--framework", required=True, choices=sorted(FRAMEWORKS))
    trainer.add_argument("--estimator", default="")
    trainer.add_argument("--task", default="regression")
    trainer.add_argument("--label", required=True)
    trainer.add_argument("--features", default="")
    trainer.add_argument("--split", default="train")
    trainer.add_argument("--hyperparameters", default="{}")
    trainer.add_argument("--examples", required=True)
    trainer.add_argument("--model-dir", required=True)
    trainer.add_argument("--transform-graph", default="")
    trainer.add_argument("--executor-output", default="")
    trainer.add_argument("--python", default="python3", help="the interpreter that serves the model")
    trainer.add_argument("--pipeline", default="")
    trainer.add_argument("--run-id", default="")
    trainer.add_argument("--node-id", default="")
    server = commands.add_parser("serve", help="serve a model through the predict contract")
    server.add_argument("model_dir")
    args = parser.parse_args()
    try:
        if args.command == "train":
            train(args)
        else:
            serve(args.model_dir)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
