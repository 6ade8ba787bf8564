"""The one registry of error ids and their texts.

An id reads ``area:fault:what``; ``fault`` is ``user`` (the caller can fix it, never sent to error tracking)
or ``platform`` (our bug or outage). Code raises ``PyrunError("area:fault:what", **params)`` and the API,
jobs and builds all render the same text from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDef:
    status: int
    message: str


ERRORS: dict[str, ErrorDef] = {
    # API plumbing
    "api:user:malformed-request": ErrorDef(400, "The request body could not be parsed: {detail}"),
    "api:user:invalid": ErrorDef(400, "Some fields are invalid."),
    "api:user:not-found": ErrorDef(404, "Not found."),
    "api:user:method-not-allowed": ErrorDef(405, "Method {method} is not allowed here."),
    "api:user:not-acceptable": ErrorDef(406, "Cannot produce a response in the requested format."),
    "api:user:unsupported-media-type": ErrorDef(415, "Unsupported media type {media_type}."),
    "api:user:too-large": ErrorDef(413, "The request is too large (limit {limit} bytes)."),
    "api:user:throttled": ErrorDef(429, "Too many requests; retry in {wait} seconds."),
    "api:platform:internal": ErrorDef(500, "Internal error; the operators have been notified."),
    # Auth and tenancy
    "auth:user:unauthenticated": ErrorDef(401, "Authentication credentials were not provided."),
    "auth:user:bad-token": ErrorDef(401, "Invalid, expired or revoked API token."),
    "auth:user:forbidden": ErrorDef(403, "You do not have permission to do this."),
    "auth:user:role-required": ErrorDef(403, "This needs the {role} role or higher in {org}."),
    "auth:user:no-membership": ErrorDef(403, "You are not a member of any organisation."),
    "auth:user:login-locked": ErrorDef(429, "Too many failed logins for this account; try again in {minutes} minutes."),
    "auth:user:login-address-locked": ErrorDef(
        429, "Too many failed logins from your network address; try again in {minutes} minutes."
    ),
    "auth:user:token-outlives-parent": ErrorDef(
        400,
        "A token cannot create a token that outlives it: this one expires at {expires_at}. Ask for fewer days, "
        "leave expires_in_days out (the new token then expires with this one), or create it while logged in.",
    ),
    "auth:user:login-delayed": ErrorDef(
        429, "Too many failed logins for this account from elsewhere; try again in {seconds} seconds."
    ),
    "tenancy:user:last-owner": ErrorDef(409, "An organisation needs at least one owner."),
    "tenancy:user:too-many-orgs": ErrorDef(
        403, "You own {limit} organisations already, the most one account may create. Delete one, or ask an operator."
    ),
    "tenancy:user:owner-only": ErrorDef(403, "Only an owner can grant or remove the owner role."),
    "tenancy:user:already-member": ErrorDef(409, "{email} is already a member of {org}."),
    "tenancy:user:invitation-invalid": ErrorDef(404, "This invitation link is not valid."),
    "tenancy:user:invitation-used": ErrorDef(
        410, "This invitation link is no longer valid: it was {status}. Ask for a new invitation."
    ),
    "tenancy:user:invitation-other-account": ErrorDef(
        403, "This invitation is for {email}, not for the account you are logged in with."
    ),
    "tenancy:user:invitation-account-exists": ErrorDef(
        409, "An account for {email} exists already: log in as {email} to accept the invitation."
    ),
    "tenancy:user:bad-cloud-account": ErrorDef(400, "{detail}"),
    "tenancy:user:role-without-external-id": ErrorDef(
        400,
        "The role {role_arn} can be assumed without an external id, so any customer of this platform who enters its "
        "ARN could act as it. Require it in the role's trust relationship: the condition "
        '{{"StringEquals": {{"sts:ExternalId": "{external_id}"}}}} (the trust policy shown with the cloud account).',
    ),
    # Sandbox (user code: jobs, terminals, builds)
    "sandbox:platform:bwrap-needed-for-image": ErrorDef(
        503,
        "Runtimes built from a Dockerfile run jobs in the image's filesystem, which needs bwrap (Debian package "
        "bubblewrap) on this server.",
    ),
    "sandbox:platform:bwrap-missing": ErrorDef(
        503, "The sandbox is unavailable: bwrap (Debian package bubblewrap) is not installed on this server."
    ),
    "sandbox:platform:network-host": ErrorDef(
        503,
        "The sandbox network is set to 'host' (PYRUN_SANDBOX_NETWORK), which lets user code reach the platform's "
        "own services; user code runs only with 'filtered' or 'none' on a shared server.",
    ),
    "sandbox:platform:bad-network-mode": ErrorDef(
        503, "PYRUN_SANDBOX_NETWORK is {mode!r}; it must be one of: {modes}."
    ),
    "sandbox:platform:network-tools-missing": ErrorDef(
        503,
        "The sandbox network cannot be set up: {tools} missing on this server (Debian packages slirp4netns, "
        "nftables, util-linux).",
    ),
    "sandbox:platform:network-failed": ErrorDef(503, "The sandbox network could not be set up: {detail}"),
    "sandbox:platform:no-pids-cgroup": ErrorDef(
        503,
        "The sandbox cannot limit its processes on this server: no writable pids cgroup (run the worker as root, "
        "or with a delegated cgroup v2).",
    ),
    # Live streams (websocket error messages)
    "live:user:bad-message": ErrorDef(400, "Unusable message: {detail}."),
    # Sent in a "dropped" message (pyrun_web/stream_consumer.py) to a client that reads slower than the job writes.
    "live:user:fell-behind": ErrorDef(
        429, "This view fell behind the job: {count:,} items were skipped to catch up. Reload to see all of them."
    ),
    # Workspace terminal (websocket close reasons and error frames)
    "terminal:user:bad-message": ErrorDef(400, "Unusable terminal message: {detail}."),
    "terminal:user:idle-timeout": ErrorDef(408, "The terminal was closed after a period without input."),
    # Workspaces and their files
    "workspaces:user:bad-path": ErrorDef(400, "Invalid path {path!r}: {reason}."),
    "workspaces:user:no-such-path": ErrorDef(404, "There is no {path!r} in this workspace."),
    "workspaces:user:exists": ErrorDef(409, "{path!r} already exists."),
    "workspaces:user:is-a-folder": ErrorDef(400, "{path!r} is a folder, not a file."),
    "workspaces:user:not-a-folder": ErrorDef(400, "{path!r} is a file, not a folder."),
    "workspaces:user:etag-mismatch": ErrorDef(
        412, "{path!r} has changed since you read it (its etag is now {etag}); reload it and try again."
    ),
    "workspaces:user:exists-precondition": ErrorDef(
        412, "{path!r} already exists (the request said If-None-Match: *)."
    ),
    "workspaces:user:file-too-large": ErrorDef(413, "{path!r} is larger than the limit of {limit} bytes per file."),
    "workspaces:user:quota-exceeded": ErrorDef(
        413, "This would bring the workspace to {size} bytes, over its limit of {limit} bytes."
    ),
    "workspaces:user:upload-too-large": ErrorDef(
        413, "This upload is larger than the {limit} bytes a workspace may hold; send fewer or smaller files."
    ),
    "workspaces:user:bad-op": ErrorDef(400, "Unknown operation {op!r}; use one of: {choices}."),
    "workspaces:user:move-into-itself": ErrorDef(400, "Cannot move {path!r} into itself."),
    "workspaces:user:bad-zip": ErrorDef(400, "{name!r} is not a readable zip archive."),
    "workspaces:user:zip-unsafe-entry": ErrorDef(
        400, "{name!r} was not unpacked: its entry {entry!r} cannot be extracted safely ({reason})."
    ),
    "workspaces:user:zip-bomb": ErrorDef(400, "{name!r} was not unpacked: {reason}."),
    "workspaces:user:no-preview": ErrorDef(
        400, "{path!r} has no table preview; files ending in {formats} have one. Read the file itself instead."
    ),
    "workspaces:user:bad-preview": ErrorDef(400, "{path!r} cannot be read as {format}: {reason}"),
    "workspaces:user:bad-preview-rows": ErrorDef(400, "rows must be a whole number from 1 to {limit}, not {rows!r}."),
    "workspaces:user:preview-too-large": ErrorDef(
        413, "{path!r} is too large to preview ({size} bytes; previews read up to {limit}). Download it instead."
    ),
    "workspaces:user:search-query-empty": ErrorDef(400, "Give a text to search for: q must not be empty."),
    "workspaces:user:search-query-too-long": ErrorDef(
        400, "The search text must be one line of at most {max} characters."
    ),
    "workspaces:user:bad-search-limit": ErrorDef(400, "limit must be a whole number from 1 to {max}, not {limit!r}."),
    "workspaces:user:lambda-needs-s3": ErrorDef(400, "The aws_lambda backend needs aws_s3 storage."),
    "workspaces:user:executor-backend-mismatch": ErrorDef(
        400, "The default executor {executor} runs on the {backend} backend; set backend to {backend}."
    ),
    "workspaces:user:timeout-out-of-range": ErrorDef(
        400, "runtime_timeout must be between 1 and {limit} seconds on the {backend} backend."
    ),
    "workspaces:user:scheduler-address-required": ErrorDef(
        400, "The dask-scheduler executor needs dask_scheduler_address (for example tcp://scheduler:8786)."
    ),
    "workspaces:user:cloud-account-required": ErrorDef(
        400, "Lithops {what} needs an AWS cloud account in this organisation; add one under Cloud accounts."
    ),
    "workspaces:user:bucket-required": ErrorDef(
        400, "aws_s3 storage needs a bucket: set storage_bucket in the workspace configuration or on the cloud account."
    ),
    "workspaces:user:lambda-role-required": ErrorDef(
        400, "The aws_lambda backend needs lambda_execution_role (an IAM role ARN) in the workspace configuration."
    ),
    "workspaces:platform:files-missing": ErrorDef(500, "The files of workspace {workspace} are missing on the server."),
    # Runtimes: conda builder (py-rattler)
    "runtime:user:conda-solve-failed": ErrorDef(400, "The conda environment cannot be solved:\n{detail}"),
    "runtime:user:conda-channel-unreachable": ErrorDef(400, "The conda channel {channel} could not be read: {detail}"),
    "runtime:user:conda-install-failed": ErrorDef(400, "Installing the conda packages failed: {detail}"),
    # Runtimes: shared by the uv and conda builders
    "runtime:user:python-unavailable": ErrorDef(
        400, "No Python matching {python!r} is available on this server (it has: {available})."
    ),
    "runtime:user:pip-failed": ErrorDef(400, "Installing the pip packages failed:\n{output}"),
    # Runtimes: spec files, builds and their lifecycle
    "runtime:user:bad-yaml": ErrorDef(400, ".pyrun/environment.yml is not valid YAML: line {line}: {problem}."),
    "runtime:user:bad-spec": ErrorDef(400, ".pyrun/environment.yml, line {line}: {problem}."),
    "runtime:user:bad-dockerfile": ErrorDef(400, ".pyrun/Dockerfile, line {line}: {problem}."),
    "runtime:user:spec-unreadable": ErrorDef(400, "{path} cannot be read: {reason}."),
    "runtime:user:cancelled": ErrorDef(409, "The build was cancelled."),
    "runtime:user:timeout": ErrorDef(408, "The build took longer than {seconds} seconds and was stopped."),
    "runtime:user:busy": ErrorDef(409, "Runtime {id} is {state}; wait for the build to end or cancel it first."),
    "runtime:user:not-building": ErrorDef(409, "Runtime {id} is not building (it is {state})."),
    "runtime:user:target-unsupported": ErrorDef(400, "A runtime from {source} cannot be built for target {target}."),
    "runtime:user:build-quota-exceeded": ErrorDef(
        403,
        "This organisation has used {used} of its {limit} build minutes this month, so no new build was started; "
        "the quota resets on {resets}. Reuse an existing runtime or ask an operator to raise the quota.",
    ),
    "runtime:platform:venv-failed": ErrorDef(500, "Creating the virtual environment failed:\n{output}"),
    "runtime:platform:inspect-failed": ErrorDef(500, "Listing the packages of the new environment failed:\n{output}"),
    "runtime:platform:worker-lost": ErrorDef(500, "The worker building this runtime stopped responding; rebuild it."),
    "runtime:platform:build-crashed": ErrorDef(
        500, "The build failed because of a platform error; the operators have been notified."
    ),
    "runtime:platform:no-builder": ErrorDef(500, "The {builder} builder is not available on this server."),
    "runtime:platform:wait-timeout": ErrorDef(504, "Runtime {id} was not ready after {seconds} seconds."),
    # Runtimes: Docker images, Lambda layers, container registries
    "runtime:user:docker-build-failed": ErrorDef(
        400, "The Docker build of .pyrun/Dockerfile failed at {step}: {detail}"
    ),
    "runtime:user:docker-from-refused": ErrorDef(
        400, ".pyrun/Dockerfile, line {line}: the image {image} cannot be used: {reason}."
    ),
    "runtime:user:docker-add-url-refused": ErrorDef(
        400,
        ".pyrun/Dockerfile, line {line}: ADD {source} is refused: ADD downloads URLs (and a source with a variable "
        "may be one) from the build server itself, outside the build's network sandbox. Use COPY for the "
        "workspace's files, and download in a RUN step (curl, wget, pip).",
    ),
    "runtime:user:image-env-refused": ErrorDef(
        400,
        "The image sets {name}, which runtimes may not set: it changes how the loader or libc of every program "
        "behaves.",
    ),
    "runtime:platform:build-network-unavailable": ErrorDef(
        503,
        "Docker builds are disabled on this server: the firewall of the build network could not be set up ({detail}).",
    ),
    "runtime:platform:docker-push-failed": ErrorDef(502, "Pushing image {image} to its registry failed: {detail}"),
    "runtime:platform:image-export-failed": ErrorDef(
        502, "Unpacking the filesystem of image {image} for jobs failed: {detail}"
    ),
    "runtime:platform:docker-unavailable": ErrorDef(
        503, "Docker runtimes are unavailable: the server cannot reach a Docker daemon ({detail})."
    ),
    "runtime:user:layer-too-large": ErrorDef(
        400,
        "The runtime is {size_mb} MB unzipped, over AWS Lambda's limit of {limit_mb} MB for layers; describe it "
        "with a .pyrun/Dockerfile instead, which runs on Lambda as a container image (up to 10 GB).",
    ),
    "runtime:user:layer-python-unsupported": ErrorDef(
        400, "AWS Lambda (with Lithops) has no Python {python} runtime; use one of: {supported}."
    ),
    "runtime:user:lambda-needs-lithops": ErrorDef(
        400,
        "The runtime has no lithops package, so Lithops on AWS Lambda cannot use it; install $LITHOPS in it "
        "(in the pip list of environment.yml, or RUN pip install $LITHOPS in the Dockerfile).",
    ),
    "runtime:user:cloud-account-required": ErrorDef(
        400, "Publishing a runtime as {target} needs an AWS cloud account in this organisation; add one."
    ),
    "runtime:user:layer-needs-bucket": ErrorDef(
        400, "Publishing a Lambda layer needs an S3 bucket: set one on the cloud account {account}."
    ),
    "aws:user:assume-role-failed": ErrorDef(400, "Could not assume the role {role_arn}: {detail}"),
    "aws:user:request-failed": ErrorDef(400, "AWS refused {operation}: {detail}"),
    "aws:platform:unreachable": ErrorDef(502, "AWS could not be reached for {operation}: {detail}"),
    "aws:platform:no-external-id": ErrorDef(
        500, "The organisation of the role {role_arn} has no external id; the role is not assumed without one."
    ),
    # Jobs: executor backends and code snapshots
    "job:user:bad-backend": ErrorDef(400, "Unknown backend {backend!r}; use one of: {choices}."),
    "job:platform:backend-unavailable": ErrorDef(
        500, "The {backend} backend cannot be loaded on this server: {detail}"
    ),
    "job:user:bad-scheduler-address": ErrorDef(
        400, "dask_scheduler_address {address!r} cannot be used: {reason} (use tcp://host:port or tls://host:port)."
    ),
    "job:user:layer-account-missing": ErrorDef(
        400,
        "The Lambda layer of runtime {runtime} was published with a cloud account that no longer exists; "
        "rebuild the runtime.",
    ),
    "job:platform:runtime-unusable": ErrorDef(500, "Runtime {runtime} cannot run on {backend}: {reason}."),
    "job:user:workspace-busy": ErrorDef(
        409, "The workspace's files kept changing while its snapshot was taken; try the run again."
    ),
    "job:platform:snapshot-missing": ErrorDef(500, "The code snapshot {digest} is missing from the object store."),
    "job:platform:snapshot-corrupt": ErrorDef(500, "The code snapshot {digest} cannot be restored: {reason}."),
    # Jobs: runs, their outcome and the runs API
    "job:user:no-entrypoint": ErrorDef(400, "There is no file {entrypoint!r} in this workspace to run."),
    "job:user:bad-env": ErrorDef(400, "Environment variable {name!r} cannot be set: {reason}."),
    "job:user:bad-args": ErrorDef(400, "The arguments cannot be used: {reason}."),
    "job:user:already-finished": ErrorDef(409, "Job {id} has already ended ({state})."),
    "job:user:not-rerunnable": ErrorDef(409, "Job {id} cannot be run again: {reason}."),
    "job:user:exit-code": ErrorDef(400, "The script exited with code {code}."),
    "job:user:exception": ErrorDef(400, "The script failed with {exception} (exit code {code})."),
    "job:user:killed": ErrorDef(400, "The script was killed by {signal} (exit code {code})."),
    "job:user:timeout": ErrorDef(408, "The job ran longer than its limit of {seconds} seconds and was stopped."),
    "job:user:cancelled": ErrorDef(409, "The job was cancelled."),
    "job:user:memory-limit": ErrorDef(
        400, "The script ran out of memory: the job may use at most {limit} (exit code {code})."
    ),
    "job:user:process-limit": ErrorDef(
        400, "The script tried to run more than {limit} processes and threads, the job's limit (exit code {code})."
    ),
    "job:user:disk-quota": ErrorDef(
        400,
        "The job wrote more than its disk limit of {limit} (its copy of the workspace, /tmp and $HOME together) "
        "and was stopped (exit code {code}).",
    ),
    "job:user:runtime-failed": ErrorDef(400, "The runtime of this job could not be built: {error}"),
    "job:platform:worker-lost": ErrorDef(500, "The worker running this job stopped responding; run it again."),
    "job:platform:marked-failed": ErrorDef(500, "An operator stopped this job and marked it failed; run it again."),
    "job:platform:crashed": ErrorDef(
        500, "The job failed because of a platform error; the operators have been notified."
    ),
    # Pipelines (launch)
    "pipelines:user:bad-parameter": ErrorDef(400, "Pipeline parameter {name!r}: {reason}."),
    "pipelines:user:bad-parameters": ErrorDef(400, "The pipeline parameters cannot be used: {reason}."),
    "pipelines:user:bad-backend": ErrorDef(
        400, "The {pipeline} pipeline runs on {framework}; backend {backend!r} is not one of: {choices}."
    ),
    "pipelines:user:other-org": ErrorDef(
        400, "This request acts in organisation {org}; pick another one with the X-PyRun-Org header (or ?org=)."
    ),
    # Object storage (code snapshots, artifacts)
    "objects:platform:store-failed": ErrorDef(502, "The object store could not {operation} {key}: {detail}"),
}


class PyrunError(Exception):
    """An error with a stable id; its text comes from ``ERRORS``."""

    def __init__(self, error_id: str, **params: object) -> None:
        if error_id not in ERRORS:
            raise KeyError(f"unregistered error id {error_id!r}")
        self.id = error_id
        self.params = params
        super().__init__(self.message)

    @property
    def definition(self) -> ErrorDef:
        return ERRORS[self.id]

    @property
    def status(self) -> int:
        return self.definition.status

    @property
    def message(self) -> str:
        return ERRORS[self.id].message.format(**self.params)

    @property
    def is_user_fault(self) -> bool:
        return self.id.split(":")[1] == "user"


def error_body(error_id: str, message: str | None = None, **extra: object) -> dict:
    """The JSON body of every API error: ``{"error": {"id": ..., "message": ...}}``."""
    body = {"id": error_id, "message": message if message is not None else ERRORS[error_id].message}
    body.update(extra)
    return {"error": body}
