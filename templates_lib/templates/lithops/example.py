# Welcome to your Lithops workspace!
# Press Run: Lithops maps `square` over the data, on local processes or on AWS Lambda
# (choose the backend in the workspace settings). To add packages, list them in
# .pyrun/environment.yml (pip packages under `pip:`); saving that file offers to rebuild the runtime.

import lithops


def square(x: int) -> int:
    return x * x


if __name__ == "__main__":
    executor = lithops.FunctionExecutor()
    futures = executor.map(square, range(10))
    results = executor.get_result(futures)
    print("squares:", results)
    print("sum:", sum(results))
