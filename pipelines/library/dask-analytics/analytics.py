# Sales analytics with Dask dataframes: the pipeline writes a synthetic sales dataset (CSV or Parquet, one file per
# partition, generated in parallel by the workers), reads it back lazily and aggregates it with group-bys.
# Results: results/data/ (the dataset), results/by_region.csv, results/by_product.csv, results/summary.json and a
# bar chart, results/revenue_by_region.png. Parameters: python analytics.py --rows 200000 --partitions 8
# Packages come from .pyrun/environment.yml (pip packages under `pip:`); saving it offers to rebuild the runtime.

import json
import os
import shutil
import time
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
from distributed import Client, LocalCluster
from pipeline_options import argument_parser  # the options declared in pipeline.toml

RESULTS = Path("results")
REGIONS = {"north": 0.3, "south": 0.15, "east": 0.25, "west": 0.2, "central": 0.1}  # region: share of orders
PRODUCTS = {  # product: (list price, popularity)
    "laptop": (899.0, 1),
    "phone": (499.0, 3),
    "tablet": (329.0, 2),
    "monitor": (189.0, 2),
    "keyboard": (49.0, 4),
    "mouse": (19.0, 5),
    "headset": (79.0, 3),
    "webcam": (59.0, 2),
}


def make_partition(part: int, rows: int, partitions: int, seed: int) -> pd.DataFrame:
    """One partition of the dataset; the same (part, seed) always gives the same rows."""
    first = part * rows // partitions
    n = (part + 1) * rows // partitions - first
    rng = np.random.default_rng([seed, part])
    names = list(PRODUCTS)
    weights = np.array([PRODUCTS[p][1] for p in names], dtype=float)
    product = rng.choice(len(names), size=n, p=weights / weights.sum())
    list_price = np.array([PRODUCTS[p][0] for p in names])[product]
    discount = rng.choice([0.0, 0.05, 0.1, 0.2], size=n, p=[0.6, 0.2, 0.15, 0.05])
    return pd.DataFrame(
        {
            "order_id": np.arange(first, first + n, dtype=np.int64),
            "region": rng.choice(list(REGIONS), size=n, p=list(REGIONS.values())),
            "product": np.array(names)[product],
            "quantity": rng.integers(1, 6, size=n, dtype=np.int64),
            "unit_price": np.round(list_price * (1 - discount), 2),
        }
    )


def write_dataset(rows: int, partitions: int, seed: int, fmt: str, folder: Path) -> None:
    meta = make_partition(0, 0, 1, seed)
    frame = dd.from_map(make_partition, range(partitions), rows=rows, partitions=partitions, seed=seed, meta=meta)
    if folder.exists():
        shutil.rmtree(folder)  # an earlier run's files must not be read as part of this dataset
    if fmt == "csv":
        frame.to_csv(str(folder / "part-*.csv"), index=False, name_function=lambda i: f"{i:05d}")
    else:
        frame.to_parquet(str(folder), write_index=False, name_function=lambda i: f"part-{i:05d}.parquet")


def read_dataset(fmt: str, folder: Path) -> dd.DataFrame:
    if fmt == "csv":
        return dd.read_csv(str(folder / "part-*.csv"))
    return dd.read_parquet(str(folder))


def plot(by_region: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(by_region.index.astype(str), by_region["revenue"] / 1e6, color="#8b5cf6")
    ax.set(ylabel="revenue (millions)", title="Revenue by region")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argument_parser(__file__)
    # Without --workers: the count the dask-local backend suggests for the machine, when it runs this.
    parser.set_defaults(workers=os.environ.get("PYRUN_DASK_WORKERS", parser.get_default("workers")))
    args = parser.parse_args()

    data = RESULTS / "data"
    if os.environ.get("DASK_SCHEDULER_ADDRESS"):  # the dask-scheduler backend: a remote cluster
        client, cluster = Client(), None
    else:
        # Threads in this process: starts in a blink; the group-bys release the GIL in pandas and NumPy.
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=False, dashboard_address=None)
        client = Client(cluster)
    print(f"Dask cluster: {len(client.scheduler_info()['workers'])} workers")
    seconds = {}
    try:
        started = time.time()
        write_dataset(args.rows, args.partitions, args.seed, args.format, data)
        seconds["write"] = time.time() - started
        print(f"wrote {args.rows} orders to {data}/ as {args.format} in {args.partitions} files")

        started = time.time()
        orders = read_dataset(args.format, data)
        orders = orders.assign(revenue=orders["quantity"] * orders["unit_price"])
        by_region = orders.groupby("region").agg(
            orders=("order_id", "count"), quantity=("quantity", "sum"), revenue=("revenue", "sum")
        )
        by_product = orders.groupby("product").agg(
            orders=("order_id", "count"),
            quantity=("quantity", "sum"),
            revenue=("revenue", "sum"),
            avg_unit_price=("unit_price", "mean"),
        )
        by_region, by_product = dd.compute(by_region, by_product)
        seconds["aggregate"] = time.time() - started
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    by_region = by_region.sort_index()
    by_product = by_product.sort_values("revenue", ascending=False)
    pd.set_option("display.width", 120)
    print("\nBy region:")
    print(by_region.to_string(float_format=lambda v: f"{v:,.2f}"))
    print("\nBy product:")
    print(by_product.to_string(float_format=lambda v: f"{v:,.2f}"))
    total = float(by_region["revenue"].sum())
    print(f"\ntotal revenue {total:,.2f} from {int(by_region['orders'].sum())} orders")
    print(f"write {seconds['write']:.2f} s, aggregate {seconds['aggregate']:.2f} s")

    by_region.to_csv(RESULTS / "by_region.csv", float_format="%.6f")
    by_product.to_csv(RESULTS / "by_product.csv", float_format="%.6f")
    summary = {
        "rows": args.rows,
        "partitions": args.partitions,
        "format": args.format,
        "dataset": str(data),
        "total_revenue": total,
        "by_region": {k: {c: float(v) for c, v in row.items()} for k, row in by_region.iterrows()},
        "seconds": seconds,
    }
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(by_region, RESULTS / "revenue_by_region.png")
    print("wrote results/by_region.csv, results/by_product.csv, results/summary.json, results/revenue_by_region.png")


if __name__ == "__main__":
    main()
