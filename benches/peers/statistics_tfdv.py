#!/usr/bin/env python3
"""TensorFlow Data Validation's statistics of a CSV file, timed.

    statistics_tfdv.py DATA.csv [WORKERS]

Runs `tfdv.generate_statistics_from_csv` (Apache Beam's direct runner, WORKERS processes in
multi-processing mode when above 1) and prints `tfdv SECONDS`.
"""

import sys
import time

import tensorflow_data_validation as tfdv
from apache_beam.options.pipeline_options import PipelineOptions


def main() -> None:
    path = sys.argv[1]
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    options = None
    if workers > 1:
        options = PipelineOptions(
            ["--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"]
        )
    started = time.perf_counter()
    tfdv.generate_statistics_from_csv(path, pipeline_options=options)
    print(f"tfdv{'' if workers == 1 else f'-{workers}-workers'} {time.perf_counter() - started:.4f}", flush=True)


if __name__ == "__main__":
    main()
