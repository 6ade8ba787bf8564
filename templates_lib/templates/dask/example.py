# Welcome to your Dask workspace!
# Press Run: this starts a small Dask cluster inside the job, submits work to it and prints the results.
# To add packages, list them in .pyrun/environment.yml (pip packages under `pip:`);
# saving that file offers to rebuild the runtime.

from distributed import Client, LocalCluster


def inc(x: int) -> int:
    return x + 1


def total(values: list[int]) -> int:
    return sum(values)


if __name__ == "__main__":
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster, Client(cluster) as client:
        incremented = client.map(inc, range(10))
        print("incremented:", client.gather(incremented))
        print("total:", client.submit(total, incremented).result())
