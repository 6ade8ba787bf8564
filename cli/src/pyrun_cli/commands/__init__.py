"""One module per group of ``pyrun`` subcommands; each adds its commands to a :class:`Commands`."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, argparse.Namespace], int]


class Commands:
    """Adds subcommands that accept the global options; each runs ``handler(api, args)``."""

    def __init__(self, sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
        self._sub = sub
        self._parents = parents

    def add(self, name: str, handler: Handler, **defaults: Any) -> argparse.ArgumentParser:
        """The command ``name``: its one-line help is the first line of the handler's docstring (as ``pyrun
        --help`` lists it), its description (``pyrun NAME --help``) the rest."""
        summary, _, details = inspect.cleandoc(handler.__doc__ or "").partition("\n")
        description = " ".join(details.split()) or None
        parser = self._sub.add_parser(name, parents=self._parents, help=summary, description=description)
        parser.set_defaults(handler=handler, **defaults)
        return parser
