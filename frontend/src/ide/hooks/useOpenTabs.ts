// The files open in the editor: loading, saving with the file's ETag (a conflict when someone else saved it
// meanwhile), closing with a question when unsaved, following renames and deletes from the tree.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiError } from "../../api/client";
import { api } from "../../api/endpoints";
import { monaco } from "../../monacoSetup";
import { chooseView, mimeOf, SNIFF_BYTES, viewByName } from "../../preview";
import type { Question } from "../AskDialog";
import { isText, type OpenFile } from "../EditorTabs";

export const modelOf = (workspaceId: number, path: string) =>
  monaco.editor.getModel(monaco.Uri.parse(`file:///w${workspaceId}/${path}`));

/** `path` after `from` moved to `to` (itself, or something inside it when `from` is a folder). */
export const movedPath = (path: string, from: string, to: string) =>
  path === from ? to : path.startsWith(from + "/") ? to + path.slice(from.length) : path;

/** Whether `path` is `root` or inside it. */
export const isUnder = (path: string, root: string) => path === root || path.startsWith(root + "/");

export interface OpenTabsOptions {
  notify: (text: string, options?: { kind?: "info" | "fail" }) => void;
  ask: (question: Question) => Promise<string | null>;
  onSaved: (path: string) => void;
}

export function useOpenTabs(workspaceId: number, { notify, ask, onSaved }: OpenTabsOptions) {
  const [tabs, setTabs] = useState<OpenFile[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [conflict, setConflict] = useState<string | null>(null);
  // Read by the async actions, which outlive the render that started them.
  const tabsRef = useRef(tabs);
  tabsRef.current = tabs;
  const onSavedRef = useRef(onSaved);
  onSavedRef.current = onSaved;

  const patch = (path: string, change: Partial<OpenFile>) =>
    setTabs((all) => all.map((t) => (t.path === path ? { ...t, ...change } : t)));

  const openFile = useCallback(
    async (path: string) => {
      setActive(path);
      if (tabsRef.current.some((t) => t.path === path)) return;
      setTabs((all) => [...all, { path, etag: null, saved: "", text: "", loaded: false }]);
      try {
        // Tables come from the server's preview, a few rows of a file that may be gigabytes: nothing to read here.
        if (viewByName(path) === "table") {
          patch(path, { view: "table", loaded: true });
          return;
        }
        const { blob, etag } = await api.readFileBlob(workspaceId, path);
        const head = new Uint8Array(await blob.slice(0, SNIFF_BYTES).arrayBuffer());
        const view = chooseView(path, head);
        if (view === "text") {
          const text = await blob.text();
          patch(path, { text, saved: text, etag, loaded: true, view });
        } else {
          patch(path, { etag, loaded: true, view, blob, mime: mimeOf(path, head) });
        }
      } catch (e) {
        notify(`Cannot open ${path}: ${(e as Error).message}`, { kind: "fail" });
        setTabs((all) => all.filter((t) => t.path !== path));
      }
    },
    [workspaceId, notify],
  );

  /** A preview's "Open as text": the file's text in the editor instead. */
  const openAsText = useCallback(
    async (path: string) => {
      try {
        const { text, etag } = await api.readFile(workspaceId, path);
        patch(path, { text, saved: text, etag, loaded: true, view: "text", blob: undefined });
      } catch (e) {
        notify(`Cannot open ${path} as text: ${(e as Error).message}`, { kind: "fail" });
      }
    },
    [workspaceId, notify],
  );

  const save = useCallback(
    async (path: string, force = false): Promise<boolean> => {
      const tab = tabsRef.current.find((t) => t.path === path);
      if (!tab || !tab.loaded || !isText(tab)) return true; // previews are read-only
      // The editor's model, not the tab's state: a key pressed just before Ctrl+S may not have re-rendered yet.
      const text = modelOf(workspaceId, path)?.getValue() ?? tab.text;
      patch(path, { saving: true });
      try {
        let etag = tab.etag;
        if (force) etag = (await api.readFile(workspaceId, path).catch(() => ({ etag: null }))).etag;
        const result = await api.writeFile(workspaceId, path, text, { ifMatch: etag });
        patch(path, { saved: text, etag: result.etag, saving: false });
        onSavedRef.current(path);
        return true;
      } catch (e) {
        patch(path, { saving: false });
        if (e instanceof ApiError && e.status === 412) setConflict(path);
        else notify(`Saving ${path} failed: ${(e as Error).message}`, { kind: "fail" });
        return false;
      }
    },
    [workspaceId, notify],
  );

  /** Saves every tab with unsaved text; false when one could not be saved. */
  const saveAll = useCallback(async () => {
    for (const tab of tabsRef.current) {
      const text = modelOf(workspaceId, tab.path)?.getValue() ?? tab.text;
      if (tab.loaded && isText(tab) && text !== tab.saved && !(await save(tab.path))) return false;
    }
    return true;
  }, [workspaceId, save]);

  /** The conflict's "Discard mine, load theirs". */
  const reloadTheirs = async (path: string) => {
    const { text, etag } = await api.readFile(workspaceId, path);
    patch(path, { text, saved: text, etag });
    const model = modelOf(workspaceId, path);
    if (model && model.getValue() !== text) model.setValue(text);
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

  /** A file or folder moved in the tree: its tabs follow. */
  const moved = (from: string, to: string) => {
    setTabs((all) => all.map((t) => ({ ...t, path: movedPath(t.path, from, to) })));
    setActive((a) => (a ? movedPath(a, from, to) : a));
  };

  /** A file or folder deleted in the tree: its tabs close. */
  const removed = (path: string) => {
    setTabs((all) => all.filter((t) => !isUnder(t.path, path)));
    if (active && isUnder(active, path)) setActive(null);
  };

  const setText = (path: string, text: string) => patch(path, { text });

  // Warn before leaving with unsaved changes.
  const dirtyPaths = useMemo(() => new Set(tabs.filter((t) => t.text !== t.saved).map((t) => t.path)), [tabs]);
  useEffect(() => {
    if (!dirtyPaths.size) return;
    const handler = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", handler);
    return () => window.removeEventListener("beforeunload", handler);
  }, [dirtyPaths.size]);

  return {
    tabs,
    active,
    setActive,
    dirtyPaths,
    openFile,
    openAsText,
    save,
    saveAll,
    closeTab,
    setText,
    moved,
    removed,
    conflict,
    resolveConflict: (choice: "overwrite" | "reload" | "cancel") => {
      const path = conflict;
      setConflict(null);
      if (path && choice === "overwrite") void save(path, true);
      if (path && choice === "reload") void reloadTheirs(path);
    },
  };
}
