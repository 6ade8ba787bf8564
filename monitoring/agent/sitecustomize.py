"""PyRun's in-job agent, loaded by ``site`` at the start of every Python process of a job.

The runner puts this folder first on ``PYTHONPATH``. When ``PYRUN_AGENT_SOCKET`` is set, an import hook waits for
Lithops' status and future modules, Dask's client module and cloudpickle, and patches them as they load
(``pyrun_agent.lithops_hooks``, ``pyrun_agent.dask_remote``, ``pyrun_agent.code_names``); nothing else is
imported, so a process that imports none of them pays one dict lookup per import. Then the ``sitecustomize`` that
comes next on ``sys.path`` (a runtime may ship its own) is run, so this one never shadows it.

Any Python 3.8-3.13 runs this, often without a writable ``__pycache__`` (the folder is bound read-only): stdlib
only, 3.8 syntax, and as little code as possible, since it is compiled at every start.
"""

import os
import sys

_HOOKED = {
    "lithops.monitoring.status": ("lithops_hooks", "patch_status"),
    "lithops.future": ("lithops_hooks", "patch_future"),
    "distributed.client": ("dask_remote", "patch_client"),
    "cloudpickle.cloudpickle": ("code_names", "patch_pickler"),
}


def _patch(fullname, module):
    try:
        hooks, patch = _HOOKED[fullname]
        getattr(__import__("pyrun_agent." + hooks, fromlist=[patch]), patch)(module)
    except Exception:  # noqa: S110 - an unpatched module still runs the user's job
        pass


class _AgentImportHook:
    """Finds nothing itself: lets the other finders find the hooked modules, then patches each right after its own
    code ran."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _HOOKED:
            return None
        try:
            for finder in sys.meta_path:
                if finder is not self and hasattr(finder, "find_spec"):
                    spec = finder.find_spec(fullname, path, target)
                    if spec is not None:
                        break
            else:
                return None
            exec_module = spec.loader.exec_module

            def exec_and_patch(module):
                exec_module(module)
                _patch(fullname, module)

            # Set on this loader instance (one per module), so the loader keeps its type.
            spec.loader.exec_module = exec_and_patch
            return spec
        except Exception:
            return None  # the import goes on unpatched: the agent never breaks user code


if os.environ.get("PYRUN_AGENT_SOCKET"):
    sys.meta_path.insert(0, _AgentImportHook())


def _chain():
    """Run the ``sitecustomize`` this one hides, as if it were the only one."""
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [p for p in sys.path if os.path.abspath(p or ".") != here]
    # Already loaded at start-up; importlib.machinery would cost 2 ms on 3.8.
    spec = sys.modules["_frozen_importlib_external"].PathFinder.find_spec("sitecustomize", paths)
    if spec is not None and spec.loader is not None:
        module = type(sys)("sitecustomize")
        module.__spec__, module.__loader__, module.__file__ = spec, spec.loader, spec.origin
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)


_chain()
