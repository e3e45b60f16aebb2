"""The boto3 side of benches/peers/s3_transfer.sh: upload and download one large file with
boto3's transfer manager (its defaults: 8 MiB parts, 10 threads), print times and peak memory
as JSON. Usage: s3_transfer_boto3.py ENDPOINT BUCKET MIB"""

import json
import os
import resource
import sys
import tempfile
import time

import boto3

endpoint, bucket, mebibytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
with tempfile.TemporaryDirectory() as scratch:
    source = os.path.join(scratch, "data.bin")
    with open(source, "wb") as out:
        for _ in range(mebibytes // 8):
            out.write(os.urandom(8 << 20))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    key = f"bench-boto3/{os.getpid()}/data.bin"
    started = time.perf_counter()
    s3.upload_file(source, bucket, key)
    upload_s = time.perf_counter() - started
    target = os.path.join(scratch, "down.bin")
    started = time.perf_counter()
    s3.download_file(bucket, key, target)
    download_s = time.perf_counter() - started
    size = os.path.getsize(target)
    s3.delete_object(Bucket=bucket, Key=key)
print(json.dumps({
    "client": "boto3 " + boto3.__version__,
    "bytes": mebibytes << 20,
    "downloaded_bytes": size,
    "upload_s": upload_s,
    "download_s": download_s,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_before_transfers_mib": before / 1024,
}))
