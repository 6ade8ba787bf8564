// The workspace's files as an ARIA tree: arrows move, Enter opens, F2 renames, Delete deletes; drag to move;
// upload files or zips (unpacked); download a file, a folder (zip) or everything.
import { useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from "react";
import type { Entry } from "../api/types";

interface Node {
  entry: Entry;
  children: Node[];
}

function buildTree(entries: Entry[]): Node[] {
  const byPath = new Map<string, Node>();
  const roots: Node[] = [];
  const sorted = [...entries].sort((a, b) => a.path.localeCompare(b.path));
  for (const entry of sorted) byPath.set(entry.path, { entry, children: [] });
  for (const node of byPath.values()) {
    const slash = node.entry.path.lastIndexOf("/");
    const parent = slash >= 0 ? byPath.get(node.entry.path.slice(0, slash)) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  const order = (nodes: Node[]) => {
    nodes.sort((a, b) =>
      a.entry.type === b.entry.type
        ? a.entry.name.localeCompare(b.entry.name)
        : a.entry.type === "dir"
          ? -1
          : b.entry.type === "dir"
            ? 1
            : 0,
    );
    nodes.forEach((n) => order(n.children));
  };
  order(roots);
  return roots;
}

export interface FileTreeProps {
  entries: Entry[];
  dirtyPaths: Set<string>;
  activePath: string | null;
  readOnly: boolean;
  onOpen: (path: string) => void;
  onCreate: (folder: string, kind: "file" | "dir") => void;
  onRename: (path: string) => void;
  onDelete: (path: string) => void;
  onMove: (from: string, toFolder: string) => void;
  onUpload: (folder: string, files: File[]) => void;
  downloadUrl: (path: string, type: Entry["type"]) => string;
  onRefresh: () => void;
}

const folderOf = (entry: Entry | undefined) =>
  !entry ? "" : entry.type === "dir" ? entry.path : entry.path.includes("/") ? entry.path.slice(0, entry.path.lastIndexOf("/")) : "";

export function FileTree(props: FileTreeProps) {
  const { entries, activePath, readOnly } = props;
  const roots = useMemo(() => buildTree(entries), [entries]);
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set([".pyrun"]));
  const [selected, setSelected] = useState<string | null>(activePath);
  const [dropTarget, setDropTarget] = useState<string | null>(null);
  const upload = useRef<HTMLInputElement>(null);
  const treeRef = useRef<HTMLUListElement>(null);

  const visible: Node[] = [];
  const walk = (nodes: Node[]) => {
    for (const node of nodes) {
      visible.push(node);
      if (node.entry.type === "dir" && expanded.has(node.entry.path)) walk(node.children);
    }
  };
  walk(roots);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  // What the toolbar acts on: the selected item, else the open file; new files go next to it (root if none).
  const chosen = selected && byPath.has(selected) ? selected : activePath && byPath.has(activePath) ? activePath : null;
  const current = chosen ?? visible[0]?.entry.path ?? null; // the item reachable with Tab
  const currentEntry = chosen ? byPath.get(chosen) : undefined;

  const toggle = (path: string, open?: boolean) =>
    setExpanded((old) => {
      const next = new Set(old);
      if (open ?? !next.has(path)) next.add(path);
      else next.delete(path);
      return next;
    });

  const focus = (path: string) => {
    setSelected(path);
    requestAnimationFrame(() =>
      treeRef.current?.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`)?.focus(),
    );
  };

  const activate = (entry: Entry) => {
    setSelected(entry.path);
    if (entry.type === "dir") toggle(entry.path);
    else props.onOpen(entry.path);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const index = visible.findIndex((n) => n.entry.path === current);
    const node = visible[index];
    if (!node) return;
    const parentPath = node.entry.path.includes("/") ? node.entry.path.slice(0, node.entry.path.lastIndexOf("/")) : null;
    switch (event.key) {
      case "ArrowDown":
        if (index < visible.length - 1) focus(visible[index + 1].entry.path);
        break;
      case "ArrowUp":
        if (index > 0) focus(visible[index - 1].entry.path);
        break;
      case "Home":
        focus(visible[0].entry.path);
        break;
      case "End":
        focus(visible[visible.length - 1].entry.path);
        break;
      case "ArrowRight":
        if (node.entry.type === "dir") {
          if (!expanded.has(node.entry.path)) toggle(node.entry.path, true);
          else if (node.children[0]) focus(node.children[0].entry.path);
        }
        break;
      case "ArrowLeft":
        if (node.entry.type === "dir" && expanded.has(node.entry.path)) toggle(node.entry.path, false);
        else if (parentPath) focus(parentPath);
        break;
      case "Enter":
      case " ":
        activate(node.entry);
        break;
      case "F2":
        if (!readOnly) props.onRename(node.entry.path);
        break;
      case "Delete":
        if (!readOnly) props.onDelete(node.entry.path);
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  const dragOver = (event: DragEvent, folder: string) => {
    if (readOnly) return;
    event.preventDefault();
    event.stopPropagation();
    event.dataTransfer.dropEffect = event.dataTransfer.types.includes("Files") ? "copy" : "move";
    setDropTarget(folder);
  };
  const drop = (event: DragEvent, folder: string) => {
    if (readOnly) return;
    event.preventDefault();
    event.stopPropagation();
    setDropTarget(null);
    if (event.dataTransfer.files.length) {
      props.onUpload(folder, Array.from(event.dataTransfer.files));
      return;
    }
    const from = event.dataTransfer.getData("application/x-pyrun-path");
    if (from && from !== folder && !folder.startsWith(from + "/")) props.onMove(from, folder);
  };

  const renderNode = (node: Node, level: number) => {
    const { entry } = node;
    const isDir = entry.type === "dir";
    const open = isDir && expanded.has(entry.path);
    const dirty = props.dirtyPaths.has(entry.path);
    return (
      <li
        key={entry.path}
        role="treeitem"
        aria-level={level}
        aria-expanded={isDir ? open : undefined}
        aria-selected={entry.path === chosen}
        tabIndex={entry.path === current ? 0 : -1}
        data-path={entry.path}
        className={dropTarget === entry.path ? "drop-target" : undefined}
        onKeyDown={(e) => {
          if (e.target === e.currentTarget) onKeyDown(e);
        }}
        onFocus={(e) => {
          if (e.target === e.currentTarget) setSelected(entry.path);
        }}
        draggable={!readOnly}
        onDragStart={(e) => {
          e.stopPropagation();
          e.dataTransfer.setData("application/x-pyrun-path", entry.path);
          e.dataTransfer.effectAllowed = "move";
        }}
        onDragOver={isDir ? (e) => dragOver(e, entry.path) : undefined}
        onDragLeave={isDir ? () => setDropTarget(null) : undefined}
        onDrop={isDir ? (e) => drop(e, entry.path) : undefined}
      >
        <div
          className="label"
          style={{ paddingLeft: 6 + (level - 1) * 14 }}
          onClick={() => activate(entry)}
          title={entry.path}
        >
          <span aria-hidden="true" style={{ width: "1ch", display: "inline-block" }}>{isDir ? (open ? "▾" : "▸") : ""}</span>
          <span style={{ fontWeight: entry.path === activePath ? 600 : undefined }}>{entry.name}</span>
          {dirty && (
            <span className="dirty-dot" aria-label="unsaved changes">
              ●
            </span>
          )}
        </div>
        {open && node.children.length > 0 && <ul role="group">{node.children.map((c) => renderNode(c, level + 1))}</ul>}
      </li>
    );
  };

  const folder = folderOf(currentEntry);
  return (
    <div
      className={`tree-root-drop ${dropTarget === "" ? "dragover" : ""}`}
      style={{ display: "flex", flexDirection: "column", flex: 1, minHeight: 0 }}
      onDragOver={(e) => dragOver(e, "")}
      onDragLeave={() => setDropTarget(null)}
      onDrop={(e) => drop(e, "")}
    >
      <div className="toolbar" role="toolbar" aria-label="Files">
        {!readOnly && (
          <>
            <button onClick={() => props.onCreate(folder, "file")} title={`New file in /${folder}`}>
              + File
            </button>
            <button onClick={() => props.onCreate(folder, "dir")} title={`New folder in /${folder}`}>
              + Folder
            </button>
            <button disabled={!chosen} onClick={() => chosen && props.onRename(chosen)} title="Rename or move (F2)">
              Rename
            </button>
            <button
              disabled={!chosen}
              className="danger"
              onClick={() => chosen && props.onDelete(chosen)}
              title="Delete (Del)"
            >
              Delete
            </button>
            <button onClick={() => upload.current?.click()} title={`Upload files or a .zip into /${folder}`}>
              Upload
            </button>
            <input
              ref={upload}
              type="file"
              multiple
              hidden
              aria-label="Upload files"
              onChange={(e) => {
                if (e.target.files?.length) props.onUpload(folder, Array.from(e.target.files));
                e.target.value = "";
              }}
            />
          </>
        )}
        {currentEntry && (
          <a
            href={props.downloadUrl(currentEntry.path, currentEntry.type)}
            download
            className="btn"
            title={currentEntry.type === "dir" ? "Download the folder as a zip" : "Download the file"}
          >
            Download
          </a>
        )}
        <a href={props.downloadUrl("", "dir")} download className="btn" title="Download the workspace as a zip">
          Zip all
        </a>
        <button onClick={props.onRefresh} title="Reload the file list">
          ⟳
        </button>
      </div>
      <ul className="tree" role="tree" aria-label="Workspace files" ref={treeRef}>
        {roots.map((n) => renderNode(n, 1))}
      </ul>
    </div>
  );
}
