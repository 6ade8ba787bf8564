// The workspace IDE: file tree, editor tabs, run bar and the bottom panels, in one screen. The state lives in
// hooks/ (files, tabs, runs, panels, splitter); this component wires them together.
import { useCallback, useState, type KeyboardEvent as ReactKeyboardEvent } from "react";
import { useParams } from "react-router-dom";
import { api } from "../api/endpoints";
import { ACTIVE_STATES } from "../api/types";
import { useApp } from "../app";
import { GanttPanel } from "../gantt";
import { MetricsPanel } from "../metrics";
import { useAsk } from "./AskDialog";
import { ConflictDialog } from "./ConflictDialog";
import { EditorTabs } from "./EditorTabs";
import { FileTree } from "./FileTree";
import { useEntrypoint } from "./hooks/useEntrypoint";
import { useFileOps } from "./hooks/useFileOps";
import { useNavigation, useSettledRefresh } from "./hooks/useNavigation";
import { movedPath, useOpenTabs } from "./hooks/useOpenTabs";
import { PANELS, usePanels } from "./hooks/usePanels";
import { useRunControl } from "./hooks/useRunControl";
import { useRuns, useWhenRunsEnd } from "./hooks/useRuns";
import { useSplitter } from "./hooks/useSplitter";
import { useWorkspaceData } from "./hooks/useWorkspaceData";
import { LithopsConfigForm } from "./LithopsConfigForm";
import { OutputPanel } from "./OutputPanel";
import { PanelTabs } from "./PanelTabs";
import { RunBar } from "./RunBar";
import { RunsHistory } from "./RunsHistory";
import { RuntimePanel } from "./RuntimePanel";
import { SearchPanel } from "./SearchPanel";
import { TerminalPanel } from "./TerminalPanel";

const RUNTIME_SPECS = [".pyrun/environment.yml", ".pyrun/Dockerfile"];

export default function WorkspaceIDE() {
  const workspaceId = Number(useParams().id);
  const { org, notify } = useApp();
  const readOnly = org?.role === "viewer";
  const [ask, askDialog] = useAsk();
  const [buildRequest, setBuildRequest] = useState(0);

  const { workspace, entries, loadError, refreshWorkspace, refreshTree } = useWorkspaceData(workspaceId);
  const { panel, setPanel, jobId, terminalOpened } = usePanels();
  const runs = useRuns(workspaceId);
  useWhenRunsEnd(runs.jobs, refreshTree);
  const job = runs.jobs.find((j) => j.id === (jobId ?? runs.jobs[0]?.id)) ?? null;
  const splitter = useSplitter();

  const onSaved = useCallback(
    (path: string) => {
      refreshTree();
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
    },
    [refreshTree, notify, setPanel],
  );
  const files = useOpenTabs(workspaceId, { notify, ask, onSaved });
  const { entrypoints, entrypoint, setEntrypoint } = useEntrypoint(workspaceId, entries, files.openFile);
  const nav = useNavigation({ workspaceId, entries, openFile: files.openFile });
  const refreshTreeSoon = useSettledRefresh(refreshTree);
  const fileOps = useFileOps(workspaceId, {
    ask,
    notify,
    refreshTree,
    openFile: (path) => void files.openFile(path),
    moved: (from, to) => {
      files.moved(from, to);
      setEntrypoint(movedPath(entrypoint, from, to));
    },
    removed: files.removed,
  });
  const control = useRunControl(workspaceId, {
    entrypoint,
    saveAll: files.saveAll,
    addJob: runs.addJob,
    patchJob: runs.patchJob,
    setPanel,
    notify,
  });

  // Ctrl/Cmd+S outside the editor saves the active file; Ctrl/Cmd+Enter runs.
  const onKeyDown = (event: ReactKeyboardEvent) => {
    if (!(event.ctrlKey || event.metaKey)) return;
    if (event.key === "s") {
      event.preventDefault();
      if (files.active) void files.save(files.active);
    } else if (event.key === "Enter" && !readOnly) {
      event.preventDefault();
      void control.run();
    }
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
        backend={control.backend}
        job={job}
        readOnly={readOnly}
        busy={control.busy}
        onEntrypoint={setEntrypoint}
        onBackend={control.setBackend}
        onRun={control.run}
        onCancel={control.cancel}
        options={control.runOptions}
      />
      <aside className="sidebar" aria-label="Explorer">
        {nav.search.open && (
          <SearchPanel
            workspaceId={workspaceId}
            focusRequest={nav.search.focusRequest}
            onOpenAt={nav.openAt}
            onClose={nav.search.close}
          />
        )}
        <div style={{ display: nav.search.open ? "none" : "contents" }}>
        <FileTree
          entries={entries}
          dirtyPaths={files.dirtyPaths}
          activePath={files.active}
          readOnly={readOnly}
          onOpen={files.openFile}
          onCreate={fileOps.create}
          onRename={fileOps.rename}
          onDelete={fileOps.remove}
          onMove={fileOps.move}
          onUpload={fileOps.upload}
          downloadUrl={(path, type) => (type === "dir" ? api.archiveUrl(workspaceId, path) : api.fileUrl(workspaceId, path))}
          onRefresh={refreshTree}
        />
        </div>
      </aside>
      <div className="main" ref={splitter.mainRef} style={splitter.style}>
        <EditorTabs
          workspaceId={workspaceId}
          tabs={files.tabs}
          active={files.active}
          readOnly={readOnly}
          onActivate={files.setActive}
          onClose={files.closeTab}
          onChange={files.setText}
          onSave={(path) => void files.save(path)}
          onOpenAsText={(path) => void files.openAsText(path)}
        />
        <div
          className="splitter"
          role="separator"
          aria-orientation="horizontal"
          aria-label="Resize the bottom panel"
          tabIndex={0}
          onMouseDown={splitter.onMouseDown}
          onKeyDown={splitter.onKeyDown}
        />
        <section className="bottom" aria-label="Panels">
          <PanelTabs panel={panel} onSelect={setPanel} runsTotal={runs.total} />
          <div
            className="panel"
            role="tabpanel"
            id={`panel-${panel}`}
            aria-labelledby={`panel-tab-${PANELS[panelIndex]?.[0]}`}
            hidden={panel === "terminal"}
          >
            {panel === "output" && (
              <OutputPanel job={job} onState={runs.patchJob} known={nav.known} onOpenAt={nav.openAt} />
            )}
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
                jobs={runs.jobs}
                total={runs.total}
                onLoadOlder={() => runs.loadOlder().catch((e) => notify((e as Error).message, { kind: "fail" }))}
                selectedId={job?.id ?? null}
                readOnly={readOnly}
                onOpen={(j, tab) => setPanel(tab, j.id)}
                onRerun={control.rerun}
                onCancel={control.cancel}
                onRefresh={runs.refresh}
              />
            )}
            {panel === "runtime" && (
              <RuntimePanel workspace={workspace} readOnly={readOnly} onChanged={refreshWorkspace} buildRequest={buildRequest} />
            )}
            {panel === "config" && <LithopsConfigForm workspaceId={workspaceId} readOnly={readOnly} />}
          </div>
          {terminalOpened && (
            <div className="panel" role="tabpanel" id="panel-terminal" hidden={panel !== "terminal"}>
              <TerminalPanel workspaceId={workspaceId} visible={panel === "terminal"} onOutput={refreshTreeSoon} />
            </div>
          )}
        </section>
      </div>
      {askDialog}
      {nav.dialog}
      {files.conflict && (
        <ConflictDialog
          path={files.conflict}
          onOverwrite={() => files.resolveConflict("overwrite")}
          onReload={() => files.resolveConflict("reload")}
          onCancel={() => files.resolveConflict("cancel")}
        />
      )}
    </div>
  );
}
