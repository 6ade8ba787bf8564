// Ctrl/Cmd+P: a palette of the workspace's files with a fuzzy filter; Enter opens the highlighted one.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { fuzzyFilter } from "./navigation";

export interface QuickOpenProps {
  paths: readonly string[];
  onOpen: (path: string) => void;
  onClose: () => void;
}

export function QuickOpen({ paths, onOpen, onClose }: QuickOpenProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [query, setQuery] = useState("");
  const [index, setIndex] = useState(0);
  const shown = useMemo(() => fuzzyFilter(paths, query, 50), [paths, query]);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  useEffect(() => setIndex(0), [query]);
  useEffect(() => {
    ref.current?.querySelector(`[data-index="${index}"]`)?.scrollIntoView({ block: "nearest" });
  }, [index]);

  const choose = (path: string | undefined) => {
    if (!path) return;
    onClose();
    onOpen(path);
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "ArrowDown") setIndex((i) => Math.min(i + 1, shown.length - 1));
    else if (event.key === "ArrowUp") setIndex((i) => Math.max(i - 1, 0));
    else if (event.key === "Enter") choose(shown[index]);
    else return;
    event.preventDefault();
  };

  return (
    <dialog
      ref={ref}
      className="palette"
      aria-label="Go to file"
      onCancel={(e) => (e.preventDefault(), onClose())}
      onClick={(e) => e.target === ref.current && onClose()}
    >
      <input
        autoFocus
        aria-label="File name"
        role="combobox"
        aria-expanded="true"
        aria-controls="quick-open-list"
        aria-activedescendant={shown[index] ? `quick-open-${index}` : undefined}
        placeholder="Go to file (type part of its name)"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={onKeyDown}
        spellCheck={false}
      />
      <ul role="listbox" id="quick-open-list" aria-label="Files">
        {shown.map((path, i) => {
          const slash = path.lastIndexOf("/");
          return (
            <li
              key={path}
              id={`quick-open-${i}`}
              data-index={i}
              role="option"
              aria-selected={i === index}
              onMouseMove={() => setIndex(i)}
              onClick={() => choose(path)}
            >
              <span>{path.slice(slash + 1)}</span> <span className="muted">{slash > 0 ? path.slice(0, slash) : ""}</span>
            </li>
          );
        })}
        {shown.length === 0 && <li className="muted">No file matches.</li>}
      </ul>
    </dialog>
  );
}
