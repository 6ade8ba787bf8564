// The workspace IDE: file tree, editor tabs, run bar and the bottom panels, in one screen.
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent as ReactKeyboardEvent } from "react";
import { useParams, useSearchParams } from "react-router-dom";
import { ApiError } from "../api/client";
import { api } from "../api/endpoints";
import type { Entry, Job, Workspace } from "../api/types";
import { ACTIVE_STATES } from "../api/types";
import { useApp } from "../app";
import { GanttPanel } from "../gantt";
import { MetricsPanel } from "../metrics";
import { monaco } from "../monacoSetup";
import { useAsk } from "./AskDialog";
import { EditorTabs, type OpenFile } from "./EditorTabs";
import { FileTree } from "./FileTree";
import { LithopsConfigForm } from "./LithopsConfigForm";
import { OutputPanel } from "./OutputPanel";
import { RunBar } from "./RunBar";
import { RunsHistory } from "./RunsHistory";
import { RuntimePanel } from "./RuntimePanel";
import { TerminalPanel } from "./TerminalPanel";

const PANELS = [
  ["output", "Output"],
  ["gantt", "Gantt"],
  ["metrics", "Metrics"],
  ["runs", "Runs"],
  ["runtime", "Runtime"],
  ["terminal", "Terminal"],
  ["config", "Lithops config"],
] as const;
type Panel = (typeof PANELS)[number][0];

const RUNTIME_SPECS = [".pyrun/environment.yml", ".pyrun/Dockerfile"];

const modelOf = (workspaceId: number, path: string) =>
  monaco.editor.getModel(monaco.Uri.parse(`file:///w${workspaceId}/${path}`));

function setModelText(workspaceId: number, path: string, text: string) {
  const model = modelOf(workspaceId, path);
  if (model && model.getValue() !== text) model.setValue(text);
}

export default function WorkspaceIDE() {
  const params = useParams();
  const workspaceId = Number(params.id);
  const [search, setSearch] = useSearchParams();
  const { org, notify } = useApp();
  const readOnly = org?.role === "viewer";

  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [tabs, setTabs] = useState<OpenFile[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [conflict, setConflict] = useState<string | null>(null);
  const [ask, askDialog] = useAsk();
  const [jobs, setJobs] = useState<Job[]>([]);
  const [runsTotal, setRunsTotal] = useState(0);
  const [runsPages, setRunsPages] = useState(1);
  const [entrypoint, setEntrypoint] = useState("");
  const [backend, setBackend] = useState("");
  const [busy, setBusy] = useState(false);
  const [buildRequest, setBuildRequest] = useState(0);
  const [terminalOpened, setTerminalOpened] = useState(false);
  const tabsRef = useRef(tabs);
  tabsRef.current = tabs;

  const panel = (search.get("tab") as Panel) || "output";
  const selectedJobId = search.get("job") ? Number(search.get("job")) : (jobs[0]?.id ?? null);
  const job = jobs.find((j) => j.id === selectedJobId) ?? null;

  const setPanel = useCallback(
    (tab: Panel, jobId?: number) =>
      setSearch(
        (old) => {
          const next = new URLSearchParams(old);
          next.set("tab", tab);
          if (jobId !== undefined) next.set("job", String(jobId));
          return next;
        },
        { replace: true },
      ),
    [setSearch],
  );
  useEffect(() => {
    if (panel === "terminal") setTerminalOpened(true);
  }, [panel]);

  const loadWorkspace = useCallback(() => {
    api.workspace(workspaceId).then(setWorkspace, (e) => setLoadError(e.message));
  }, [workspaceId]);
  const loadTree = useCallback(() => {
    api.tree(workspaceId).then((tree) => setEntries(tree.entries), (e) => setLoadError(e.message));
  }, [workspaceId]);
  // The newest page of runs; "Load older runs" appends the next (runs started meanwhile shift the pages, so
  // appended runs are deduplicated by id).
  const loadJobs = useCallback(() => {
    api.jobs(workspaceId).then((page) => {
      setJobs(page.results);
      setRunsTotal(page.count);
      setRunsPages(1);
    }, () => undefined);
  }, [workspaceId]);
  const loadOlderJobs = () => {
    api.jobs(workspaceId, runsPages + 1).then((page) => {
      setJobs((all) => [...all, ...page.results.filter((j) => !all.some((known) => known.id === j.id))]);
      setRunsTotal(page.count);
      setRunsPages((n) => n + 1);
    }, (e) => notify((e as Error).message, { kind: "fail" }));
  };

  useEffect(() => {
    loadWorkspace();
    loadTree();
    loadJobs();
  }, [loadWorkspace, loadTree, loadJobs]);

  // History of runs: refresh while any is in flight (the output socket updates the one being watched).
  const anyActive = jobs.some((j) => ACTIVE_STATES.includes(j.state));
  useEffect(() => {
    if (!anyActive) return;
    const timer = setInterval(loadJobs, 2000);
    return () => clearInterval(timer);
  }, [anyActive, loadJobs]);

  const entrypoints = useMemo(
    () => entries.filter((e) => e.type === "file" && e.path.endsWith(".py") && !e.path.startsWith(".")).map((e) => e.path),
    [entries],
  );
  useEffect(() => {
    if (!entrypoint && entrypoints.length) {
      const preferred = ["example.py", "main.py", "app.py"].find((p) => entrypoints.includes(p));
      setEntrypoint(preferred ?? entrypoints[0]);
    }
  }, [entrypoints, entrypoint]);

  // --- files ---
  const openFile = useCallback(
    async (path: string) => {
      setActive(path);
      if (tabsRef.current.some((t) => t.path === path)) return;
      setTabs((all) => [...all, { path, etag: null, saved: "", text: "", loaded: false }]);
      try {
        const { text, etag } = await api.readFile(workspaceId, path);
        setTabs((all) => all.map((t) => (t.path === path ? { ...t, text, saved: text, etag, loaded: true } : t)));
      } catch (e) {
        notify(`Cannot open ${path}: ${(e as Error).message}`, { kind: "fail" });
        setTabs((all) => all.filter((t) => t.path !== path));
      }
    },
    [workspaceId, notify],
  );

  // Open the entrypoint at first.
  const opened = useRef(false);
  useEffect(() => {
    if (!opened.current && entrypoint) {
      opened.current = true;
      void openFile(entrypoint);
    }
  }, [entrypoint, openFile]);

  const save = useCallback(
    async (path: string, force = false): Promise<boolean> => {
      const tab = tabsRef.current.find((t) => t.path === path);
      if (!tab || !tab.loaded) return true;
      // The editor's model, not the tab's state: a key pressed just before Ctrl+S may not have re-rendered yet.
      const text = modelOf(workspaceId, path)?.getValue() ?? tab.text;
      setTabs((all) => all.map((t) => (t.path === path ? { ...t, saving: true } : t)));
      try {
        let etag = tab.etag;
        if (force) etag = (await api.readFile(workspaceId, path).catch(() => ({ etag: null }))).etag;
        const result = await api.writeFile(workspaceId, path, text, { ifMatch: etag });
        setTabs((all) =>
          all.map((t) => (t.path === path ? { ...t, saved: text, etag: result.etag, saving: false } : t)),
        );
        loadTree();
        if (RUNTIME_SPECS.includes(path)) {
          notify("The runtime spec changed. Rebuild runtime?", {
            action: {
              label: "Rebuild runtime",
              run: () => {
                setPanel("runtime");
                setBuildRequest((n) => n + 1);
              },
            },
          });
        }
        return true;
      } catch (e) {
        setTabs((all) => all.map((t) => (t.path === path ? { ...t, saving: false } : t)));
        if (e instanceof ApiError && e.status === 412) setConflict(path);
        else notify(`Saving ${path} failed: ${(e as Error).message}`, { kind: "fail" });
        return false;
      }
    },
    [workspaceId, loadTree, notify, setPanel],
  );

  const reloadTheirs = async (path: string) => {
    const { text, etag } = await api.readFile(workspaceId, path);
    setTabs((all) => all.map((t) => (t.path === path ? { ...t, text, saved: text, etag } : t)));
    setModelText(workspaceId, path, text);
  };

  const closeTab = async (path: string) => {
    const tab = tabs.find((t) => t.path === path);
    if (tab && tab.text !== tab.saved) {
      const close = await ask({
        title: `Close ${path}?`,
        detail: "It has unsaved changes.",
        confirm: "Close without saving",
        danger: true,
      });
      if (close === null) return;
    }
    const rest = tabs.filter((t) => t.path !== path);
    setTabs(rest);
    if (active === path) setActive(rest[rest.length - 1]?.path ?? null);
  };

  const renamePaths = (from: string, to: string) => {
    const map = (p: string) => (p === from ? to : p.startsWith(from + "/") ? to + p.slice(from.length) : p);
    setTabs((all) => all.map((t) => ({ ...t, path: map(t.path) })));
    setActive((a) => (a ? map(a) : a));
    setEntrypoint((e) => map(e));
  };

  const fileOps = {
    async create(folder: string, kind: "file" | "dir") {
      const where = folder ? ` in ${folder}/` : "";
      const name = await ask({
        title: kind === "file" ? `New file${where}` : `New folder${where}`,
        value: kind === "file" ? "new.py" : "folder",
        confirm: "Create",
      });
      if (!name) return;
      const path = folder ? `${folder}/${name}` : name;
      try {
        if (kind === "dir") await api.mkdir(workspaceId, path);
        else {
          await api.writeFile(workspaceId, path, "", { createOnly: true });
          void openFile(path);
        }
        loadTree();
      } catch (e) {
        notify((e as Error).message, { kind: "fail" });
      }
    },
    async rename(path: string) {
      const to = await ask({
        title: `Rename ${path}`,
        detail: "The new path in the workspace (a folder in it moves the file there).",
        value: path,
        confirm: "Rename",
      });
      if (!to || to === path) return;
      try {
        await api.move(workspaceId, path, to);
        renamePaths(path, to);
        loadTree();
      } catch (e) {
        notify((e as Error).message, { kind: "fail" });
      }
    },
    async remove(path: string) {
      if ((await ask({ title: `Delete ${path}?`, confirm: "Delete", danger: true })) === null) return;
      try {
        await api.deletePath(workspaceId, path);
        setTabs((all) => all.filter((t) => t.path !== path && !t.path.startsWith(path + "/")));
        if (active === path || active?.startsWith(path + "/")) setActive(null);
        loadTree();
      } catch (e) {
        notify((e as Error).message, { kind: "fail" });
      }
    },
    async move(from: string, folder: string) {
      const name = from.split("/").pop()!;
      const to = folder ? `${folder}/${name}` : name;
      if (to === from) return;
      try {
        await api.move(workspaceId, from, to);
        renamePaths(from, to);
        loadTree();
      } catch (e) {
        notify((e as Error).message, { kind: "fail" });
      }
    },
    async upload(folder: string, files: File[]) {
      try {
        const written = await api.upload(workspaceId, folder, files);
        notify(`Uploaded ${written.length} file(s) to /${folder}`);
        loadTree();
      } catch (e) {
        notify((e as Error).message, { kind: "fail" });
      }
    },
  };

  // --- runs ---
  const patchJob = useCallback((jobId: number, patch: Partial<Job>) => {
    setJobs((all) => all.map((j) => (j.id === jobId ? { ...j, ...patch } : j)));
    if (patch.state && !ACTIVE_STATES.includes(patch.state)) setTimeout(() => api.job(jobId).then((fresh) => setJobs((all) => all.map((j) => (j.id === jobId ? fresh : j)))), 300);
  }, []);

  const run = async () => {
    setBusy(true);
    try {
      for (const tab of tabsRef.current) {
        const text = modelOf(workspaceId, tab.path)?.getValue() ?? tab.text;
        if (tab.loaded && text !== tab.saved && !(await save(tab.path))) return;
      }
      const created = await api.run(workspaceId, entrypoint, backend || null);
      setJobs((all) => [created, ...all.filter((j) => j.id !== created.id)]);
      setRunsTotal((n) => n + 1);
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
      const updated = await api.cancel(target.id);
      patchJob(target.id, updated);
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  };

  const rerun = async (target: Job) => {
    try {
      const created = await api.rerun(target.id);
      setJobs((all) => [created, ...all]);
      setRunsTotal((n) => n + 1);
      setPanel("output", created.id);
    } catch (e) {
      notify((e as Error).message, { kind: "fail" });
    }
  };

  // Ctrl/Cmd+S outside the editor saves the active file; Ctrl/Cmd+Enter runs.
  const onKeyDown = (event: ReactKeyboardEvent) => {
    if (!(event.ctrlKey || event.metaKey)) return;
    if (event.key === "s") {
      event.preventDefault();
      if (active) void save(active);
    } else if (event.key === "Enter" && !readOnly) {
      event.preventDefault();
      void run();
    }
  };

  // Warn before leaving with unsaved changes.
  const dirtyPaths = useMemo(() => new Set(tabs.filter((t) => t.text !== t.saved).map((t) => t.path)), [tabs]);
  useEffect(() => {
    if (!dirtyPaths.size) return;
    const handler = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", handler);
    return () => window.removeEventListener("beforeunload", handler);
  }, [dirtyPaths.size]);

  // Splitter between the editor and the bottom panels (mouse drag or arrow keys).
  const mainRef = useRef<HTMLDivElement>(null);
  const [bottomHeight, setBottomHeight] = useState<number | null>(null);
  const startDrag = (event: React.MouseEvent) => {
    event.preventDefault();
    const onMove = (e: MouseEvent) => {
      const rect = mainRef.current?.getBoundingClientRect();
      if (rect) setBottomHeight(Math.min(rect.height - 120, Math.max(120, rect.bottom - e.clientY)));
    };
    const onUp = () => {
      window.removeEventListener("mousemove", onMove);
      window.removeEventListener("mouseup", onUp);
    };
    window.addEventListener("mousemove", onMove);
    window.addEventListener("mouseup", onUp);
  };

  if (loadError && !workspace) return <p className="empty error" role="alert">{loadError}</p>;
  if (!workspace) return <p className="empty">Loading workspace…</p>;

  const live = !!job && ACTIVE_STATES.includes(job.state);
  const panelIndex = PANELS.findIndex(([key]) => key === panel);
  return (
    <div className="ide" onKeyDown={onKeyDown} style={{ flex: 1, minHeight: 0 }}>
      <RunBar
        workspaceName={workspace.name}
        entrypoints={entrypoints}
        entrypoint={entrypoint}
        backend={backend}
        job={job}
        readOnly={readOnly}
        busy={busy}
        onEntrypoint={setEntrypoint}
        onBackend={setBackend}
        onRun={run}
        onCancel={cancel}
      />
      <aside className="sidebar" aria-label="Explorer">
        <FileTree
          entries={entries}
          dirtyPaths={dirtyPaths}
          activePath={active}
          readOnly={readOnly}
          onOpen={openFile}
          onCreate={fileOps.create}
          onRename={fileOps.rename}
          onDelete={fileOps.remove}
          onMove={fileOps.move}
          onUpload={fileOps.upload}
          downloadUrl={(path, type) => (type === "dir" ? api.archiveUrl(workspaceId, path) : api.fileUrl(workspaceId, path))}
          onRefresh={loadTree}
        />
      </aside>
      <div
        className="main"
        ref={mainRef}
        style={bottomHeight ? ({ "--bottom-height": `${bottomHeight}px` } as React.CSSProperties) : undefined}
      >
        <EditorTabs
          workspaceId={workspaceId}
          tabs={tabs}
          active={active}
          readOnly={readOnly}
          onActivate={setActive}
          onClose={closeTab}
          onChange={(path, text) => setTabs((all) => all.map((t) => (t.path === path ? { ...t, text } : t)))}
          onSave={(path) => void save(path)}
        />
        <div
          className="splitter"
          role="separator"
          aria-orientation="horizontal"
          aria-label="Resize the bottom panel"
          tabIndex={0}
          onMouseDown={startDrag}
          onKeyDown={(e) => {
            const rect = mainRef.current?.getBoundingClientRect();
            if (!rect) return;
            const current = bottomHeight ?? rect.height * 0.42;
            if (e.key === "ArrowUp") setBottomHeight(Math.min(rect.height - 120, current + 30));
            else if (e.key === "ArrowDown") setBottomHeight(Math.max(120, current - 30));
          }}
        />
        <section className="bottom" aria-label="Panels">
          <div role="tablist" aria-label="Panels">
            {PANELS.map(([key, label], index) => (
              <button
                key={key}
                role="tab"
                id={`panel-tab-${key}`}
                aria-selected={panel === key}
                aria-controls={`panel-${key}`}
                tabIndex={panel === key ? 0 : -1}
                onClick={() => setPanel(key)}
                onKeyDown={(e) => {
                  let next = index;
                  if (e.key === "ArrowRight") next = (index + 1) % PANELS.length;
                  else if (e.key === "ArrowLeft") next = (index - 1 + PANELS.length) % PANELS.length;
                  else return;
                  e.preventDefault();
                  setPanel(PANELS[next][0]);
                  (e.currentTarget.parentElement?.children[next] as HTMLElement | undefined)?.focus();
                }}
              >
                {label}
                {key === "runs" && runsTotal > 0 && <span className="muted">({runsTotal})</span>}
              </button>
            ))}
          </div>
          <div
            className="panel"
            role="tabpanel"
            id={`panel-${panel}`}
            aria-labelledby={`panel-tab-${PANELS[panelIndex]?.[0]}`}
            hidden={panel === "terminal"}
          >
            {panel === "output" && <OutputPanel job={job} onState={patchJob} />}
            {panel === "gantt" &&
              (job ? (
                <GanttPanel key={job.id} jobId={job.id} live={live} />
              ) : (
                <p className="empty">No run yet: the Gantt chart shows the tasks of a run.</p>
              ))}
            {panel === "metrics" &&
              (job ? <MetricsPanel key={job.id} jobId={job.id} live={live} /> : <p className="empty">No run yet.</p>)}
            {panel === "runs" && (
              <RunsHistory
                jobs={jobs}
                total={runsTotal}
                onLoadOlder={loadOlderJobs}
                selectedId={job?.id ?? null}
                readOnly={readOnly}
                onOpen={(j, tab) => setPanel(tab, j.id)}
                onRerun={rerun}
                onCancel={cancel}
                onRefresh={loadJobs}
              />
            )}
            {panel === "runtime" && (
              <RuntimePanel workspace={workspace} readOnly={readOnly} onChanged={loadWorkspace} buildRequest={buildRequest} />
            )}
            {panel === "config" && <LithopsConfigForm workspaceId={workspaceId} readOnly={readOnly} />}
          </div>
          {terminalOpened && (
            <div className="panel" role="tabpanel" id="panel-terminal" hidden={panel !== "terminal"}>
              <TerminalPanel workspaceId={workspaceId} visible={panel === "terminal"} />
            </div>
          )}
        </section>
      </div>
      {askDialog}
      {conflict && (
        <ConflictDialog
          path={conflict}
          onOverwrite={() => {
            setConflict(null);
            void save(conflict, true);
          }}
          onReload={() => {
            setConflict(null);
            void reloadTheirs(conflict);
          }}
          onCancel={() => setConflict(null)}
        />
      )}
    </div>
  );
}

function ConflictDialog(props: { path: string; onOverwrite: () => void; onReload: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="conflict-title" onCancel={props.onCancel}>
      <h2 id="conflict-title" style={{ marginTop: 0 }}>
        {props.path} changed on the server
      </h2>
      <p>Someone (or another tab) saved this file after you opened it. Which version do you want to keep?</p>
      <div className="row">
        <button className="primary" onClick={props.onOverwrite}>
          Overwrite with mine
        </button>
        <button onClick={props.onReload}>Discard mine, load theirs</button>
        <button onClick={props.onCancel} autoFocus>
          Keep editing
        </button>
      </div>
    </dialog>
  );
}
