# TeraSort: generate, sort and validate records in object storage, the classic Hadoop benchmark on Lithops.
# 1. TeraGen: `partitions` tasks write 100-byte records (a 10-byte key first) to Lithops storage.
# 2. Sort: map tasks split their partition by key range (split points sampled from the data) into `reducers`
#    buckets; each reduce task sorts one bucket and writes one output partition, in key order.
# 3. Validate: every output partition is checked in parallel; the driver checks the partition boundaries and that
#    record count and checksum equal what TeraGen wrote. Results: results/terasort.json and results/terasort.png.
# Parameters: python terasort.py --records 100000 --partitions 4 --reducers 4 (see README.md for S3 and Lambda).
# Packages come from .pyrun/environment.yml (pip packages under `pip:`); saving it offers to rebuild the runtime.

import itertools
import json
import time
import uuid
import zlib
from bisect import bisect_right
from pathlib import Path

import lithops
import numpy as np
from pipeline_options import argument_parser  # the options declared in pipeline.toml

RECORD = 100  # bytes: a 10-byte key, 2 spaces, a 32-digit hex row id, 2 spaces, 52 filler bytes, CR LF
KEY = 10
SAMPLES_PER_PARTITION = 1000
RESULTS = Path("results")


def make_records(first: int, count: int, seed: int) -> bytes:
    """Records first .. first+count-1 in gensort's ASCII layout; the same row always gets the same record."""
    rng = np.random.default_rng([seed, first])
    keys = rng.integers(0x20, 0x7F, size=(count, KEY), dtype=np.uint8).tobytes()  # printable ASCII
    out = bytearray()
    for i in range(count):
        row = first + i
        filler = "".join(c * 4 for c in f"{row:013X}")  # 13 hex digits, each 4 times: 52 bytes
        out += keys[i * KEY : (i + 1) * KEY] + f"  {row:032X}  {filler}\r\n".encode()
    return bytes(out)


def checksum(data: bytes) -> int:
    """The sum of the CRC32 of every record: independent of their order, as valsort's."""
    return sum(zlib.crc32(data[i : i + RECORD]) for i in range(0, len(data), RECORD))


def teragen(part: int, records: int, partitions: int, seed: int, prefix: str, storage) -> dict:
    first = part * records // partitions
    count = (part + 1) * records // partitions - first
    data = make_records(first, count, seed)
    storage.put_object(storage.bucket, f"{prefix}/input/part-{part:05d}", data)
    keys = [data[i : i + KEY] for i in range(0, len(data), RECORD)]
    step = max(1, len(keys) // SAMPLES_PER_PARTITION)
    return {"part": part, "records": count, "checksum": checksum(data), "sample": [k.hex() for k in keys[::step]]}


def partition(part: int, splits: list[str], prefix: str, storage) -> int:
    """Map: split one input partition into one bucket per reducer by key range."""
    data = storage.get_object(storage.bucket, f"{prefix}/input/part-{part:05d}")
    bounds = [bytes.fromhex(s) for s in splits]
    buckets = [bytearray() for _ in range(len(bounds) + 1)]
    for i in range(0, len(data), RECORD):
        buckets[bisect_right(bounds, data[i : i + KEY])] += data[i : i + RECORD]
    for reducer, bucket in enumerate(buckets):
        storage.put_object(storage.bucket, f"{prefix}/shuffle/r{reducer:05d}/m{part:05d}", bytes(bucket))
    return len(data) // RECORD


def sort_bucket(reducer: int, maps: int, prefix: str, storage) -> int:
    """Reduce: gather one key range from every map task, sort it, write one output partition."""
    records = []
    for part in range(maps):
        data = storage.get_object(storage.bucket, f"{prefix}/shuffle/r{reducer:05d}/m{part:05d}")
        records += [data[i : i + RECORD] for i in range(0, len(data), RECORD)]
    records.sort()  # by key first; equal keys by the row id that follows
    storage.put_object(storage.bucket, f"{prefix}/output/part-{reducer:05d}", b"".join(records))
    return len(records)


def validate(reducer: int, prefix: str, storage) -> dict:
    """Validate one output partition: in order inside, its first and last key for the global check."""
    data = storage.get_object(storage.bucket, f"{prefix}/output/part-{reducer:05d}")
    keys = [data[i : i + KEY] for i in range(0, len(data), RECORD)]
    unordered = sum(1 for a, b in itertools.pairwise(keys) if a > b)
    return {
        "part": reducer,
        "records": len(keys),
        "checksum": checksum(data),
        "unordered": unordered,
        "first_key": keys[0].hex() if keys else None,
        "last_key": keys[-1].hex() if keys else None,
    }


def split_points(samples: list[str], reducers: int) -> list[str]:
    keys = sorted(samples)
    return [keys[len(keys) * r // reducers] for r in range(1, reducers)] if keys else []


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (phases, parts) = plt.subplots(1, 2, figsize=(9, 3.5))
    names = list(summary["seconds"])
    phases.bar(names, [summary["seconds"][n] for n in names], color="#10b981")
    phases.set_ylabel("seconds")
    phases.set_title("Time per phase")
    counts = [p["records"] for p in summary["output_partitions"]]
    parts.bar([str(i) for i in range(len(counts))], counts, color="#6366f1")
    parts.set_xlabel("output partition")
    parts.set_ylabel("records")
    parts.set_title("Records per reducer (sampled splits)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def download(storage, prefix: str, reducers: int) -> None:
    """Copy the sorted output into results/output/ (for small runs: it is records x 100 bytes)."""
    out = RESULTS / "output"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*"):
        old.unlink()
    for r in range(reducers):
        (out / f"part-{r:05d}").write_bytes(storage.get_object(storage.bucket, f"{prefix}/output/part-{r:05d}"))


def main() -> None:
    args = argument_parser(__file__).parse_args()
    executor = lithops.FunctionExecutor()
    storage = lithops.Storage()
    prefix = f"pyrun-terasort/{uuid.uuid4().hex[:12]}"
    print(f"storage: {storage.backend}, bucket {storage.bucket}, prefix {prefix}")
    seconds = {}
    common = (args.records, args.partitions, args.seed, prefix)

    started = time.time()
    futures = executor.map(teragen, [(p, *common) for p in range(args.partitions)])
    generated = sorted(executor.get_result(futures), key=lambda g: g["part"])
    seconds["teragen"] = time.time() - started
    gen_records = sum(g["records"] for g in generated)
    gen_checksum = sum(g["checksum"] for g in generated)
    print(f"teragen: {gen_records} records ({gen_records * RECORD / 1e6:.1f} MB) in {seconds['teragen']:.2f} s")

    started = time.time()
    splits = split_points([k for g in generated for k in g["sample"]], args.reducers)
    futures = executor.map(partition, [(p, splits, prefix) for p in range(args.partitions)])
    executor.get_result(futures)
    futures = executor.map(sort_bucket, [(r, args.partitions, prefix) for r in range(args.reducers)])
    executor.get_result(futures)
    seconds["sort"] = time.time() - started
    print(f"sort: {args.partitions} map and {args.reducers} reduce tasks in {seconds['sort']:.2f} s")

    started = time.time()
    futures = executor.map(validate, [(r, prefix) for r in range(args.reducers)])
    parts = sorted(executor.get_result(futures), key=lambda v: v["part"])
    edges = [p for p in parts if p["records"]]
    boundary_errors = sum(1 for a, b in itertools.pairwise(edges) if a["last_key"] > b["first_key"])
    out_records = sum(p["records"] for p in parts)
    out_checksum = sum(p["checksum"] for p in parts)
    sorted_ok = boundary_errors == 0 and all(p["unordered"] == 0 for p in parts)
    complete = out_records == gen_records and out_checksum == gen_checksum
    seconds["validate"] = time.time() - started
    print(f"validate: {out_records} records, checksum {out_checksum:x} (generated {gen_checksum:x})")
    print(f"sorted: {sorted_ok}; complete: {complete}")

    if args.keep_output:
        download(storage, prefix, args.reducers)
        print(f"wrote the sorted output to results/output/ ({args.reducers} files)")
    keys = storage.list_keys(storage.bucket, prefix + "/")
    storage.delete_objects(storage.bucket, keys)  # the data was only there to be sorted
    print(f"deleted {len(keys)} objects under {prefix}/")

    summary = {
        "records": gen_records,
        "bytes": gen_records * RECORD,
        "partitions": args.partitions,
        "reducers": args.reducers,
        "seed": args.seed,
        "generated": {"records": gen_records, "checksum": gen_checksum},
        "sorted_output": {"records": out_records, "checksum": out_checksum},
        "output_partitions": parts,
        "split_points": splits,
        "seconds": seconds,
        "sorted": sorted_ok,
        "complete": complete,
        "valid": sorted_ok and complete,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "terasort.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(summary, RESULTS / "terasort.png")
    print("wrote results/terasort.json and results/terasort.png")
    if not summary["valid"]:
        raise SystemExit("the output is not a sorted permutation of the input")
    print("VALID: the output is the input, globally sorted")


if __name__ == "__main__":
    main()
