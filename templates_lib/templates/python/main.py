# Welcome to your PyRun workspace!
# Press Run to execute this file. To add packages, list them in .pyrun/environment.yml
# (pip packages under `pip:`); saving that file offers to rebuild the workspace's runtime.

import platform


def greet(name: str) -> str:
    return f"Hello, {name}! This is Python {platform.python_version()}."


if __name__ == "__main__":
    print(greet("PyRun"))
