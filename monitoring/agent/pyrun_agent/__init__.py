"""PyRun's in-job agent: reports Lithops and Dask task events to the runner (``monitoring/wire.py``).

Loaded by ``sitecustomize`` (Lithops import hooks) and by Dask's preload (``pyrun_agent.dask_preload``), never by
user code. Standard library only and Python 3.8 syntax: it runs in whatever interpreter the job's runtime has.
"""
