// Run, cancel and re-run: Run saves the unsaved tabs first, then starts the entrypoint and shows its output.
import { useState } from "react";
import { request } from "../../api/client";
import { api } from "../../api/endpoints";
import { useBackendNames } from "../../api/queries";
import type { Job } from "../../api/types";
import { useRunOptions } from "../runOptions";
import type { Panel } from "./usePanels";
import { useRemembered } from "./useRemembered";

export interface RunControlOptions {
  entrypoint: string;
  saveAll: () => Promise<boolean>;
  addJob: (job: Job) => void;
  patchJob: (jobId: number, patch: Partial<Job>) => void;
  setPanel: (tab: Panel, jobId?: number) => void;
  notify: (text: string, options?: { kind?: "info" | "fail" }) => void;
}

export function useRunControl(workspaceId: number, options: RunControlOptions) {
  const { entrypoint, saveAll, addJob, patchJob, setPanel, notify } = options;
  // The backend chosen last time in this workspace, while the platform still offers it ("" = the workspace's
  // default), so the menu and Run agree.
  const [chosen, setBackend] = useRemembered(`pyrun.backend.${workspaceId}`);
  const backends = useBackendNames();
  const backend = backends.includes(chosen) ? chosen : "";
  const [busy, setBusy] = useState(false);
  // Arguments and environment variables of this entrypoint's runs (the Run options popover).
  const runOptions = useRunOptions(workspaceId, entrypoint);

  const run = async () => {
    let sent: { args: string[]; env: Record<string, string> };
    try {
      sent = runOptions.request();
    } catch (e) {
      notify(`Run options: the arguments do not split: ${(e as Error).message}`, { kind: "fail" });
      return;
    }
    if (runOptions.unset.length) {
      notify(`Not sent, no value since the page was loaded (Options): ${runOptions.unset.join(", ")}`);
    }
    setBusy(true);
    try {
      if (!(await saveAll())) return;
      const body = { entrypoint, backend: backend || null, ...sent };
      const created = await request<Job>(`workspaces/${workspaceId}/runs/`, { method: "POST", body });
      addJob(created);
      // The tab as it is now, not as it was before the save and the request (the user may have moved on).
      const current = new URLSearchParams(window.location.search).get("tab");
      setPanel(current === "gantt" || current === "metrics" ? current : "output", created.id);
    } catch (e) {
      notify(`Run failed to start: ${(e as Error).message}`, { kind: "fail" });
    } finally {
      setBusy(false);
    }
  };

  const cancel = async (target: Job) => {
    try {
      patchJob(target.id, await api.cancel(target.id));
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  };

  const rerun = async (target: Job) => {
    try {
      const created = await api.rerun(target.id);
      addJob(created);
      setPanel("output", created.id);
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  };

  return { backend, setBackend, busy, run, cancel, rerun, runOptions };
}
