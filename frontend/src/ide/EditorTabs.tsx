// Open files as tabs over one Monaco editor (one model per path), with dirty markers and Ctrl/Cmd+S.
import Editor, { type OnMount } from "@monaco-editor/react";
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { languageOf, monaco } from "../monacoSetup";
import { FilePreview, type FileView } from "../preview";
import { isDark } from "../theme";

export interface OpenFile {
  path: string;
  etag: string | null;
  saved: string;
  text: string;
  loaded: boolean;
  saving?: boolean;
  /** How it is shown: "text" (or unset) in the editor, anything else in a read-only preview. */
  view?: FileView;
  blob?: Blob; // a preview's bytes
  mime?: string; // the type an image or PDF preview is shown with
}

export const isText = (tab: OpenFile) => (tab.view ?? "text") === "text";

export interface EditorTabsProps {
  workspaceId: number;
  tabs: OpenFile[];
  active: string | null;
  readOnly: boolean;
  onActivate: (path: string) => void;
  onClose: (path: string) => void;
  onChange: (path: string, text: string) => void;
  onSave: (path: string) => void;
  /** A preview's "Open as text" (CSV, HTML, SVG): the file moves into the editor. */
  onOpenAsText?: (path: string) => void;
}

function useDarkTheme(): boolean {
  const [dark, setDark] = useState(isDark());
  useEffect(() => {
    const update = () => setDark(isDark());
    window.addEventListener("pyrun-theme", update);
    const media = window.matchMedia?.("(prefers-color-scheme: dark)");
    media?.addEventListener?.("change", update);
    return () => {
      window.removeEventListener("pyrun-theme", update);
      media?.removeEventListener?.("change", update);
    };
  }, []);
  return dark;
}

export function EditorTabs(props: EditorTabsProps) {
  const { tabs, active, workspaceId } = props;
  const dark = useDarkTheme();
  const saveRef = useRef(props.onSave);
  saveRef.current = props.onSave;
  const activeRef = useRef(active);
  activeRef.current = active;
  const tablist = useRef<HTMLDivElement>(null);
  const current = tabs.find((t) => t.path === active);

  // Models of closed tabs go away with them.
  useEffect(() => {
    const open = new Set(tabs.map((t) => `file:///w${workspaceId}/${t.path}`));
    for (const model of monaco.editor.getModels()) {
      const uri = model.uri.toString(true);
      if (uri.startsWith(`file:///w${workspaceId}/`) && !open.has(uri)) model.dispose();
    }
  }, [tabs, workspaceId]);

  const onMount: OnMount = (editor, m) => {
    editor.addCommand(m.KeyMod.CtrlCmd | m.KeyCode.KeyS, () => {
      if (activeRef.current) saveRef.current(activeRef.current);
    });
  };

  const onTabKey = (event: KeyboardEvent, index: number) => {
    let next = index;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    else if (event.key === "Delete") {
      props.onClose(tabs[index].path);
      event.preventDefault();
      return;
    } else return;
    event.preventDefault();
    props.onActivate(tabs[next].path);
    tablist.current?.querySelectorAll<HTMLElement>('[role="tab"]')[next]?.focus();
  };

  return (
    <div className="editor-area">
      <div role="tablist" aria-label="Open files" ref={tablist}>
        {tabs.map((tab, index) => {
          const dirty = tab.text !== tab.saved;
          const name = tab.path.split("/").pop();
          return (
            <div key={tab.path} style={{ display: "flex" }}>
              <button
                role="tab"
                id={`tab-${tab.path}`}
                aria-selected={tab.path === active}
                aria-controls="editor-panel"
                tabIndex={tab.path === active ? 0 : -1}
                title={tab.path}
                data-dirty={dirty}
                onClick={() => props.onActivate(tab.path)}
                onKeyDown={(e) => onTabKey(e, index)}
                onAuxClick={(e) => e.button === 1 && props.onClose(tab.path)}
              >
                {name}
                {dirty && (
                  <span className="dirty-dot" aria-label="unsaved changes">
                    ●
                  </span>
                )}
                {tab.saving && <span className="muted">saving…</span>}
              </button>
              <button className="tab-close" onClick={() => props.onClose(tab.path)} aria-label={`Close ${tab.path}`}>
                ✕
              </button>
            </div>
          );
        })}
      </div>
      <div id="editor-panel" role="tabpanel" aria-label={active ?? "No file open"} className="editor-host" data-testid="editor">
        {current && current.loaded && !isText(current) ? (
          <FilePreview
            key={current.path}
            workspaceId={workspaceId}
            file={{ path: current.path, view: current.view ?? "binary", blob: current.blob, mime: current.mime }}
            onOpenAsText={props.onOpenAsText}
          />
        ) : current && current.loaded ? (
          <Editor
            key={workspaceId}
            path={`file:///w${workspaceId}/${current.path}`}
            defaultValue={current.text}
            defaultLanguage={languageOf(current.path)}
            theme={dark ? "vs-dark" : "vs"}
            onMount={onMount}
            onChange={(value) => props.onChange(current.path, value ?? "")}
            options={{
              readOnly: props.readOnly,
              minimap: { enabled: false },
              fontSize: 13,
              automaticLayout: true,
              scrollBeyondLastLine: false,
              tabSize: 4,
            }}
          />
        ) : current ? (
          <p className="empty">Loading {current.path}…</p>
        ) : (
          <p className="empty">Open a file from the tree (Enter or click). Ctrl/Cmd+S saves.</p>
        )}
      </div>
    </div>
  );
}
