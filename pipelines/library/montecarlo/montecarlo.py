# Monte Carlo estimate of pi on Lithops: throw random points at the unit square and count those inside the
# quarter circle (probability pi/4). Every round maps `tasks` tasks of `samples` points each; the estimate uses
# every point so far, so its error shrinks like 1/sqrt(N). Results: results/montecarlo.json and the convergence
# curve, results/montecarlo.png. Parameters: python montecarlo.py --tasks 8 --samples 1000000 --rounds 5
# Packages come from .pyrun/environment.yml (pip packages under `pip:`); saving it offers to rebuild the runtime.

import json
import math
import time
from pathlib import Path

import lithops
import numpy as np
from pipeline_options import argument_parser  # the options declared in pipeline.toml

RESULTS = Path("results")
BATCH = 1_000_000  # points drawn at once: bounds a task's memory whatever --samples is


def throw(task: int, round_: int, samples: int, seed: int) -> int:
    """Points of one task that fall inside the quarter circle."""
    rng = np.random.default_rng([seed, round_, task])
    inside, left = 0, samples
    while left:
        n = min(left, BATCH)
        x, y = rng.random(n), rng.random(n)
        inside += int(np.count_nonzero(x * x + y * y <= 1.0))
        left -= n
    return inside


def sigma(n: int) -> float:
    """The standard deviation of the estimate 4 * inside / n (a binomial proportion with p = pi / 4)."""
    p = math.pi / 4
    return 4 * math.sqrt(p * (1 - p) / n)


def plot(rounds: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["points"] for r in rounds]
    est = [r["estimate"] for r in rounds]
    band = [3 * r["sigma"] for r in rounds]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.axhline(math.pi, color="#9ca3af", linestyle="--", label="π")
    ax.fill_between(n, [math.pi - b for b in band], [math.pi + b for b in band], color="#dbeafe", label="π ± 3 sigma")
    ax.plot(n, est, marker="o", color="#2563eb", label="estimate")
    ax.set(xscale="log", xlabel="points thrown", ylabel="estimate of π", title="Monte Carlo π: convergence per round")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    args = argument_parser(__file__).parse_args()
    executor = lithops.FunctionExecutor()
    inside = points = 0
    rounds = []
    started = time.time()
    print(f"{'round':>5} {'points':>12} {'estimate':>12} {'error':>10} {'sigma':>10}")
    for r in range(args.rounds):
        futures = executor.map(throw, [(t, r, args.samples, args.seed) for t in range(args.tasks)])
        inside += sum(executor.get_result(futures))
        points += args.tasks * args.samples
        estimate = 4 * inside / points
        row = {
            "round": r + 1,
            "points": points,
            "inside": inside,
            "estimate": estimate,
            "error": abs(estimate - math.pi),
            "sigma": sigma(points),
            "seconds": time.time() - started,
        }
        rounds.append(row)
        print(f"{r + 1:>5} {points:>12} {estimate:>12.8f} {row['error']:>10.2e} {row['sigma']:>10.2e}")

    final = rounds[-1]
    summary = {
        "tasks": args.tasks,
        "samples": args.samples,
        "rounds": rounds,
        "estimate": final["estimate"],
        "error": final["error"],
        "sigma": final["sigma"],
        "within_3_sigma": final["error"] <= 3 * final["sigma"],
        "points_per_second": final["points"] / final["seconds"],
    }
    print(f"pi ~ {final['estimate']:.8f} from {final['points']} points: error {final['error']:.2e}", end=" ")
    print(f"= {final['error'] / final['sigma']:.2f} sigma; {summary['points_per_second'] / 1e6:.1f} M points/s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "montecarlo.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(rounds, RESULTS / "montecarlo.png")
    print("wrote results/montecarlo.json and results/montecarlo.png")


if __name__ == "__main__":
    main()
