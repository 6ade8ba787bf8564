"""Tracebacks of a job's functions name their workspace file, not ``<dynamic-code>``.

cloudpickle (3.1 and later) writes every function it pickles by value, i.e. every function of the script's
``__main__``, with the file name ``<dynamic-code>``, so a Lithops task or Dask task that raises points at
``File "<dynamic-code>", line 9``: neither the user nor the IDE can tell which file that is. For code whose file
is inside the job's working directory (the workspace), this puts the real name back; the line numbers were kept
all along. Anything else keeps cloudpickle's name, and if cloudpickle's reducer ever changes shape, it is left as
it is.
"""

import os
import types

_DYNAMIC = "<dynamic-code>"
_PATCHED = "__pyrun_agent__"


def patch_pickler(module) -> None:
    """Wrap the code-object reducer of ``cloudpickle.cloudpickle.Pickler`` (its ``_dispatch_table``)."""
    table = module.Pickler._dispatch_table
    original = table.get(types.CodeType)
    if original is None or getattr(original, _PATCHED, False):
        return
    # The script runs from the workspace (the sandbox's /workspace), and so does its pickling.
    root = os.path.join(os.getcwd(), "")

    def code_reduce(code):
        reduced = original(code)
        filename = code.co_filename
        if not (isinstance(filename, str) and filename.startswith(root)):
            return reduced
        try:
            constructor, args = reduced
            at = args.index(_DYNAMIC)  # the only str among the arguments that can be equal to it
        except (TypeError, ValueError):
            return reduced
        return constructor, (*args[:at], filename, *args[at + 1 :])

    setattr(code_reduce, _PATCHED, True)
    table[types.CodeType] = code_reduce
