# The command line of a pipeline's script, built from the pipeline.toml next to it. The platform reads the same
# file to list the pipeline and to launch it with these options, so the two cannot drift apart: declare a new
# parameter there and it is an option here. Every pipeline's workspace gets this file; it needs only the stdlib.
#
# A parameter is an option --name (underscores become dashes) taking a value of its type, with its default; a bool
# is a bare flag that turns it on. The platform checks `min` and `max` when it launches; a run by hand does not.

import argparse
import tomllib
from pathlib import Path

TYPES = {"int": int, "float": float, "str": str}


def argument_parser(script: str) -> argparse.ArgumentParser:
    """The parser of ``script``'s options (pass ``__file__``): its pipeline.toml's parameters."""
    manifest = tomllib.loads(Path(script).with_name("pipeline.toml").read_text(encoding="utf-8"))
    parser = argparse.ArgumentParser(description=manifest["description"])
    for p in manifest.get("parameters", []):
        flag = "--" + p["name"].replace("_", "-")
        if p["type"] == "bool":
            parser.add_argument(flag, action="store_true", help=p["help"])
        else:
            parser.add_argument(
                flag, type=TYPES[p["type"]], default=p["default"], choices=p.get("choices"), help=p["help"]
            )
    return parser
