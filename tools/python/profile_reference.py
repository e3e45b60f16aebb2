#!/usr/bin/env python3
"""Independent reference statistics of a CSV file, computed with pandas, to check Millrace's.

    profile_reference.py DATA.csv MILLRACE_SPLIT_STATISTICS.json

Reads the CSV as Millrace does (only empty fields are missing) and prints one JSON document:
per column its count, missing, zeros, min, max, mean and population standard deviation, and for
each quantile Millrace reported, the fractions of values below it and at or below it (so the
caller can check the quantile's rank against the sketch's stated error); for text columns the
number of distinct values, every value's count and the mean length.
"""

import json
import sys

import numpy as np
import pandas as pd


def main() -> None:
    csv_path, statistics_path = sys.argv[1], sys.argv[2]
    with open(statistics_path, encoding="utf-8") as handle:
        ours = {feature["name"]: feature for feature in json.load(handle)["features"]}
    frame = pd.read_csv(csv_path, keep_default_na=False, na_values=[""], dtype_backend="numpy_nullable")
    result = {"rows": int(len(frame)), "columns": {}}
    for name in frame.columns:
        column = frame[name]
        present = column.dropna()
        entry = {"count": int(present.size), "missing": int(column.isna().sum())}
        if pd.api.types.is_numeric_dtype(column.dtype):
            values = present.to_numpy(dtype=np.float64)
            entry.update(
                kind="numeric",
                zeros=int((values == 0).sum()),
                min=float(values.min()) if values.size else None,
                max=float(values.max()) if values.size else None,
                mean=float(values.mean()) if values.size else None,
                std_dev=float(values.std(ddof=0)) if values.size else None,
            )
            quantiles = (ours.get(name, {}).get("numeric") or {}).get("quantiles", [])
            ordered = np.sort(values)
            entry["quantile_ranks"] = [
                [
                    float(np.searchsorted(ordered, q, side="left") / ordered.size),
                    float(np.searchsorted(ordered, q, side="right") / ordered.size),
                ]
                for q in quantiles
            ]
        else:
            text = present.astype(str)
            counts = text.value_counts()
            entry.update(
                kind="string",
                unique=int(counts.size),
                value_counts={str(value): int(count) for value, count in counts.items()},
                avg_length=float(text.str.len().mean()) if text.size else 0.0,
            )
        result["columns"][name] = entry
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
