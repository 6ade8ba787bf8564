// Ctrl/Cmd+Shift+F: find a string in every file of the workspace (the server searches: workspaces/search.py),
// results grouped by file; a click opens the file at the match.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { queries } from "../api/queries";
import type { SearchMatch } from "../api/types";
import { errorText } from "../components";

export interface SearchPanelProps {
  workspaceId: number;
  /** Bumped each time the shortcut is pressed: the field takes the focus again. */
  focusRequest: number;
  onOpenAt: (path: string, line: number, column: number) => void;
  onClose: () => void;
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

/** Matches grouped by file, files in the order the server found them. */
export function groupByFile(matches: readonly SearchMatch[]): [string, SearchMatch[]][] {
  const groups = new Map<string, SearchMatch[]>();
  for (const match of matches) {
    const list = groups.get(match.path);
    if (list) list.push(match);
    else groups.set(match.path, [match]);
  }
  return [...groups.entries()];
}

export function SearchPanel({ workspaceId, focusRequest, onOpenAt, onClose }: SearchPanelProps) {
  const input = useRef<HTMLInputElement>(null);
  const [text, setText] = useState("");
  const [query, setQuery] = useState("");
  const [caseSensitive, setCaseSensitive] = useState(false);
  const search = useQuery(queries.search(workspaceId, query, caseSensitive));
  const groups = useMemo(() => groupByFile(search.data?.results ?? []), [search.data]);

  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, [focusRequest]);
  // Searching as one types, once typing pauses.
  useEffect(() => {
    const timer = setTimeout(() => setQuery(text.trim() ? text : ""), 300);
    return () => clearTimeout(timer);
  }, [text]);

  const data = search.data;
  return (
    <section className="search-panel" aria-label="Search">
      <div className="toolbar">
        <strong style={{ flex: 1 }}>Search</strong>
        <button onClick={onClose} aria-label="Close search" title="Back to the files">
          ✕
        </button>
      </div>
      <form
        className="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(text);
          if (text === query) void search.refetch();
        }}
      >
        <input
          ref={input}
          type="search"
          aria-label="Search in the workspace"
          placeholder="Search in all files"
          value={text}
          maxLength={200}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === "Escape" && onClose()}
          spellCheck={false}
        />
        <label title="Match case">
          <input type="checkbox" checked={caseSensitive} onChange={(e) => setCaseSensitive(e.target.checked)} /> Aa
        </label>
      </form>
      <div className="search-results" role="region" aria-label="Search results" aria-busy={search.isFetching}>
        {search.error && <p className="error">{errorText(search.error)}</p>}
        {search.isFetching && !data && <p className="muted">Searching…</p>}
        {data && (
          <p className="muted" role="status">
            {data.results.length === 0
              ? `No results for “${data.query}”.`
              : `${data.truncated ? "The first " : ""}${count(data.results.length, "result")} in ${count(groups.length, "file")}`}
            {data.partial && " (the search stopped early: the workspace is too large to search whole)"}
          </p>
        )}
        {groups.map(([path, matches]) => (
          <details key={path} open className="search-file">
            <summary title={path}>
              {path} <span className="muted">{matches.length}</span>
            </summary>
            <ul>
              {matches.map((m) => (
                <li key={`${m.line}:${m.column}`}>
                  <button
                    className="search-hit"
                    title={`${path}:${m.line}:${m.column}`}
                    onClick={() => onOpenAt(path, m.line, m.column)}
                  >
                    <span className="muted">{m.line}</span> {m.text.slice(0, m.match_start).trimStart()}
                    <mark>{m.text.slice(m.match_start, m.match_end)}</mark>
                    {m.text.slice(m.match_end)}
                  </button>
                </li>
              ))}
            </ul>
          </details>
        ))}
      </div>
    </section>
  );
}
