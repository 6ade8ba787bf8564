// The workspace's runtime: state, error and the build log, live over /ws/runtimes/{id}/.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api/endpoints";
import { keys, queries } from "../api/queries";
import type { Runtime, RuntimeLogLine, RuntimeState, Workspace } from "../api/types";
import { formatBytes, formatDuration, formatTime, useApp } from "../app";
import { LogBuffer } from "../logs/logBuffer";
import { LogView } from "../logs/LogView";
import { LiveSocket, RUNTIME_STREAMS } from "../ws/live";

export interface RuntimePanelProps {
  workspace: Workspace;
  readOnly: boolean;
  onChanged: () => void;
  buildRequest: number; // bumped by the IDE to ask for a build (the "Rebuild runtime?" notification)
}

// What is known of a runtime, without blanks: a build that failed early has no builder, Python or size yet.
export function runtimeFacts(runtime: Pick<Runtime, "kind" | "builder" | "python_version" | "size_bytes">): string[] {
  return [
    runtime.kind,
    runtime.builder,
    runtime.python_version ? `Python ${runtime.python_version}` : "",
    runtime.size_bytes ? formatBytes(runtime.size_bytes) : "",
  ].filter(Boolean);
}

// A build's steps in order (runtimes/models.py Runtime.Phase). Not every builder takes each one: uv installs
// without a separate download step, only Lambda and image targets publish.
export const BUILD_STEPS = ["resolve", "download", "install", "compile", "publish", "done"] as const;

/** resolve → download → install → compile → publish → done: the steps behind, the current one, and where a failed
 * build stopped. */
export function BuildSteps({ phase, state }: { phase: string; state: RuntimeState | undefined }) {
  const at = BUILD_STEPS.indexOf(phase as (typeof BUILD_STEPS)[number]);
  if (at < 0) return null;
  return (
    <ol className="build-steps" aria-label="Build steps" data-phase={phase}>
      {BUILD_STEPS.map((step, i) => {
        const status =
          i < at || (step === "done" && i === at) ? "passed" : i > at ? "ahead" : state === "failed" ? "failed" : "current";
        return (
          <li key={step} className={`build-step ${status}`} aria-current={status === "current" || status === "failed" ? "step" : undefined}>
            {status === "failed" ? `✗ ${step}` : status === "passed" ? `✓ ${step}` : step}
          </li>
        );
      })}
    </ol>
  );
}

export function RuntimePanel({ workspace, readOnly, onChanged, buildRequest }: RuntimePanelProps) {
  const { notify, dismiss } = useApp();
  // The "Building the runtime…" toast: replaced by the build's outcome when it ends (a failure must not read as
  // still building).
  const buildToast = useRef<number | null>(null);
  const [runtimeId, setRuntimeId] = useState<number | null>(workspace.runtime?.id ?? null);
  const client = useQueryClient();
  const { data: runtime = null } = useQuery({ ...queries.runtime(runtimeId ?? 0), enabled: runtimeId !== null });
  const setRuntime = (value: Runtime) => client.setQueryData(keys.runtime(value.id), value);
  const [follow, setFollow] = useState(true);
  const buffer = useMemo(() => new LogBuffer(), [runtimeId]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => setRuntimeId(workspace.runtime?.id ?? null), [workspace.runtime?.id]);

  useEffect(() => {
    if (runtimeId === null) return;
    const socket = new LiveSocket({
      path: `/ws/runtimes/${runtimeId}/`,
      fields: RUNTIME_STREAMS,
      onMessage: (message) => {
        if (message.type === "runtime.log") {
          const lines = message.lines as RuntimeLogLine[];
          buffer.add(lines.map((l) => ({ seq: l.seq, stream: "stdout" as const, text: l.text.endsWith("\n") ? l.text : l.text + "\n" })));
        } else if (message.type === "runtime.state") {
          const state = message.state as RuntimeState;
          const phase = message.phase as string | undefined;
          client.setQueryData(keys.runtime(runtimeId), (r: Runtime | undefined) =>
            r
              ? { ...r, state, error: (message.error as Runtime["error"]) ?? null, ...(phase !== undefined ? { build_phase: phase } : {}) }
              : r,
          );
          if (state === "ready" || state === "failed") {
            if (buildToast.current !== null) {
              dismiss(buildToast.current);
              buildToast.current = null;
              if (state === "failed") {
                // The live message names the state only: the error (id and text) is read from the runtime.
                const say = (error: Runtime["error"] | undefined) =>
                  notify(`The runtime build failed: ${error ? `${error.message} (${error.id})` : "see its log"}`, { kind: "fail" });
                api.runtime(runtimeId).then((fresh) => say(fresh.error), () => say(null));
              } else notify("The runtime is ready.");
            }
            void client.invalidateQueries({ queryKey: keys.runtime(runtimeId) });
            onChanged();
          }
        }
      },
    });
    return () => socket.close();
  }, [runtimeId, buffer, onChanged, client, notify, dismiss]);

  async function build() {
    try {
      const found = await api.ensureRuntime(workspace.id);
      setRuntime(found);
      setRuntimeId(found.id);
      if (found.state === "ready") notify("The runtime is up to date.");
      else if (found.state === "failed") notify(`The runtime build failed: ${found.error?.message ?? "see its log"}`, { kind: "fail" });
      else buildToast.current = notify("Building the runtime…");
      onChanged();
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  }

  async function rebuild() {
    if (runtimeId === null) return;
    try {
      setRuntime(await api.rebuildRuntime(runtimeId));
      buffer.clear();
      buildToast.current = notify("Rebuilding the runtime…");
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  }

  useEffect(() => {
    if (buildRequest > 0) void build();
  }, [buildRequest]); // eslint-disable-line react-hooks/exhaustive-deps

  const state = runtime?.state ?? workspace.runtime?.state;
  return (
    <div className="output">
      <div className="output-bar">
        <span>
          Runtime {runtimeId ? `#${runtimeId}` : "(none yet)"} ·{" "}
          <span className={`state state-${state ?? ""}`} data-testid="runtime-state">
            {state ?? "none"}
          </span>{" "}
          · workspace spec: {workspace.runtime_status}
        </span>
        {runtime && (
          <span className="muted">
            {runtimeFacts(runtime).join(" · ")} ·{" "}
            {runtime.timings?.finished_at
              ? `built ${formatTime(runtime.timings.finished_at)}${runtime.timings.build_seconds !== null ? ` in ${formatDuration(runtime.timings.build_seconds)}` : ""}`
              : `created ${formatTime(runtime.timings?.created_at)}`}
          </span>
        )}
        {runtime?.build_phase && <BuildSteps phase={runtime.build_phase} state={state} />}
        {runtime?.error && <span className="error">{runtime.error.message}</span>}
        <span className="spacer" />
        {!readOnly && <button onClick={build}>Build for current spec</button>}
        {!readOnly && runtimeId !== null && <button onClick={rebuild}>Rebuild</button>}
      </div>
      <LogView
        buffer={buffer}
        label="Runtime build log"
        follow={follow}
        onFollowChange={setFollow}
        emptyText="No build log. The runtime is defined by .pyrun/environment.yml or .pyrun/Dockerfile."
      />
    </div>
  );
}
