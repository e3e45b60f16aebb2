#!/usr/bin/env python3
"""The statistics StatisticsGen computes, computed with pandas, pyarrow and polars, timed.

    statistics_peers.py DATA.csv [REPEATS]

For every column: count, missing; numeric columns: mean, standard deviation, min, max, zeros,
median, the 101 percentiles and a 10-bucket histogram; string columns: distinct count, the 20
most frequent values and the mean length. Prints one line per library: `library seconds` (the
best of REPEATS runs, reading the CSV included, as StatisticsGen's figures include parsing).
"""

import sys
import time

import numpy as np

PERCENTILES = [i / 100 for i in range(101)]


def sorted_quantiles(ordered) -> list:
    """The 101 percentiles of sorted values (nearest rank), from one sort."""
    last = len(ordered) - 1
    return [float(ordered[round(q * last)]) for q in PERCENTILES] if len(ordered) else []


def with_pandas(path: str) -> dict:
    import pandas as pd

    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    result = {}
    for name in frame.columns:
        column = frame[name]
        entry = {"count": int(column.count()), "missing": int(column.isna().sum())}
        if pd.api.types.is_numeric_dtype(column.dtype):
            values = column.dropna()
            entry.update(
                mean=values.mean(), std=values.std(ddof=0), min=values.min(), max=values.max(),
                zeros=int((values == 0).sum()), median=values.median(),
                quantiles=values.quantile(PERCENTILES).tolist(),
                histogram=np.histogram(values.to_numpy(), bins=10)[0].tolist(),
            )
        else:
            values = column.dropna()
            entry.update(
                unique=int(values.nunique()), top=values.value_counts().head(20).to_dict(),
                avg_length=float(values.str.len().mean()),
            )
        result[name] = entry
    return result


def with_pyarrow(path: str) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    table = pv.read_csv(path)
    result = {}
    for name in table.column_names:
        column = table[name]
        entry = {"count": len(column) - column.null_count, "missing": column.null_count}
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
            values = pc.drop_null(column)
            low, high = pc.min(values).as_py(), pc.max(values).as_py()
            entry.update(
                mean=pc.mean(values).as_py(), std=pc.stddev(values, ddof=0).as_py(), min=low, max=high,
                zeros=pc.sum(pc.equal(values, 0)).as_py(),
                median=pc.approximate_median(values).as_py(),
                quantiles=pc.tdigest(values, q=PERCENTILES).to_pylist(),
                histogram=np.histogram(values.to_numpy(), bins=10, range=(low, high))[0].tolist(),
            )
        else:
            values = pc.drop_null(column)
            counts = pc.value_counts(values)
            order = pc.sort_indices(counts, sort_keys=[("counts", "descending")])
            entry.update(
                unique=len(counts), top=pc.take(counts, order[:20]).to_pylist(),
                avg_length=pc.mean(pc.utf8_length(values)).as_py(),
            )
        result[name] = entry
    return result


def with_polars(path: str) -> dict:
    import polars as pl

    frame = pl.read_csv(path)
    result = {}
    for name in frame.columns:
        column = frame[name]
        entry = {"count": column.len() - column.null_count(), "missing": column.null_count()}
        if column.dtype.is_numeric():
            values = column.drop_nulls()
            entry.update(
                mean=values.mean(), std=values.std(ddof=0), min=values.min(), max=values.max(),
                zeros=int((values == 0).sum()), median=values.median(),
                quantiles=sorted_quantiles(values.sort().to_numpy()),
                histogram=values.hist(bin_count=10)["count"].to_list(),
            )
        else:
            values = column.drop_nulls()
            entry.update(
                unique=values.n_unique(), top=values.value_counts(sort=True).head(20).to_dicts(),
                avg_length=values.str.len_chars().mean(),
            )
        result[name] = entry
    return result


def main() -> None:
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    for library, profile in [("pandas", with_pandas), ("pyarrow", with_pyarrow), ("polars", with_polars)]:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            profile(path)
            best = min(best, time.perf_counter() - started)
        print(f"{library} {best:.4f}", flush=True)


if __name__ == "__main__":
    main()
