"""Publishers put a built runtime where an executor backend can use it: a Lambda layer (layer-based Lithops
runtimes), a container registry (Docker runtimes, ECR for Lithops on Lambda). Builders never publish."""
