# FLOPS: how fast can the workers multiply matrices?
# Lithops maps one task per worker; each multiplies two random n x n matrices `loops` times with NumPy, checks its
# product and reports its GFLOP/s. Results: results/flops.json and a bar chart, results/flops.png.
# Parameters: python flops.py --tasks 4 --size 500 --loops 3 (see README.md to run it on AWS Lambda).
# Packages come from .pyrun/environment.yml (pip packages under `pip:`); saving it offers to rebuild the runtime.

import json
import time
from pathlib import Path

import lithops
import numpy as np
from pipeline_options import argument_parser  # the options declared in pipeline.toml

RESULTS = Path("results")


def multiply(task: int, size: int, loops: int, seed: int) -> dict:
    """One task: `loops` products of two size x size float64 matrices; returns its timing and a self-check."""
    rng = np.random.default_rng([seed, task])
    a = rng.random((size, size))
    b = rng.random((size, size))
    started = time.perf_counter()
    for _ in range(loops):
        c = a @ b
    seconds = time.perf_counter() - started
    flop = 2.0 * size**3 * loops  # n^3 multiply-adds per product
    # sum(A @ B) == (column sums of A) . (row sums of B): an O(n^2) check of the O(n^3) product.
    expected = float(a.sum(axis=0) @ b.sum(axis=1))
    verified = bool(np.isclose(c.sum(), expected, rtol=1e-9))
    return {"task": task, "seconds": seconds, "gflop": flop / 1e9, "gflops": flop / seconds / 1e9, "verified": verified}


def plot(tasks: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4, 0.5 * len(tasks) + 2), 3.5))
    ax.bar([str(t["task"]) for t in tasks], [t["gflops"] for t in tasks], color="#3b82f6")
    ax.set(xlabel="task", ylabel="GFLOP/s", title="Matrix multiplication speed per task")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    args = argument_parser(__file__).parse_args()
    RESULTS.mkdir(exist_ok=True)

    executor = lithops.FunctionExecutor()
    started = time.time()
    futures = executor.map(multiply, [(t, args.size, args.loops, args.seed) for t in range(args.tasks)])
    tasks = sorted(executor.get_result(futures), key=lambda t: t["task"])
    wall = time.time() - started

    total_gflop = sum(t["gflop"] for t in tasks)
    summary = {
        "tasks": args.tasks,
        "size": args.size,
        "loops": args.loops,
        "per_task": tasks,
        "total_gflop": total_gflop,
        "sum_gflops": sum(t["gflops"] for t in tasks),  # the workers' combined compute speed
        "wall_seconds": wall,
        "effective_gflops": total_gflop / wall,  # including invocation overhead
        "all_verified": all(t["verified"] for t in tasks),
    }
    print(f"{'task':>4} {'seconds':>8} {'GFLOP/s':>8} verified")
    for t in tasks:
        print(f"{t['task']:>4} {t['seconds']:>8.3f} {t['gflops']:>8.2f} {t['verified']}")
    print(f"total: {total_gflop:.2f} GFLOP in {wall:.2f} s wall")
    print(f"sum of task speeds: {summary['sum_gflops']:.2f} GFLOP/s", end="; ")
    print(f"effective (with invocation overhead): {summary['effective_gflops']:.2f} GFLOP/s")

    (RESULTS / "flops.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(tasks, RESULTS / "flops.png")
    print("wrote results/flops.json and results/flops.png")
    if not summary["all_verified"]:
        raise SystemExit("some products failed their check")


if __name__ == "__main__":
    main()
