"""What both Lithops backends put in a job's environment."""

from __future__ import annotations

import json
from typing import Any


def config_env(config: dict[str, Any]) -> dict[str, str]:
    # Lithops reads LITHOPS_CONFIG (JSON) with an unmodified FunctionExecutor(): no config file to write or clean up.
    return {"LITHOPS_CONFIG": json.dumps(config, sort_keys=True, separators=(",", ":"))}


def storage_note(config: dict[str, Any]) -> str:
    if config["lithops"]["storage"] == "aws_s3":
        section = config["aws_s3"]
        return f"Lithops storage: s3://{section['storage_bucket']} ({section['region']})"
    return "Lithops storage: localhost (the job's private /tmp)"
