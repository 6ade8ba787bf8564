// A virtualised view of a LogBuffer: only the rows in sight are in the DOM, so 100k lines scroll smoothly.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { ansiToHtml } from "./ansi";
import { LEVEL_CLASS } from "./levels";
import { LogBuffer, visibleText, type Line } from "./logBuffer";

const ROW = 18;
const OVERSCAN = 20;
const MAX_CHARS = 4000; // a giant line is cut for display (the full text stays in the buffer)

const htmlCache = new Map<string, string>();
function lineHtml(text: string): string {
  const shown = visibleText(text.length > MAX_CHARS ? text.slice(0, MAX_CHARS) + " …" : text);
  if (!shown.includes("\u001b")) return "";
  let html = htmlCache.get(shown);
  if (html === undefined) {
    html = ansiToHtml(shown);
    if (htmlCache.size > 5000) htmlCache.clear();
    htmlCache.set(shown, html);
  }
  return html;
}

/** A part of a line shown as a link (a traceback's `File "…", line N`). */
export interface LineLink {
  start: number;
  end: number;
  title: string;
  onOpen: () => void;
}

export interface LogViewProps {
  buffer: LogBuffer;
  label: string;
  follow: boolean;
  onFollowChange: (follow: boolean) => void;
  emptyText?: string;
  /** Only the lines it accepts are shown (a filter by text or stream); the numbers stay the output's. */
  filter?: ((line: Line) => boolean) | null;
  /** Marked wherever it occurs, case-insensitively (the Output panel's search). */
  highlight?: string;
  /** The held line (buffer index) to scroll to and mark as the current search match. */
  current?: number | null;
  linkOf?: (text: string) => LineLink | null;
}

/** `text` with every case-insensitive occurrence of `needle` in a <mark>. */
function marked(text: string, needle: string | undefined, key = 0): ReactNode {
  if (!needle) return text;
  const lower = text.toLowerCase();
  const find = needle.toLowerCase();
  const parts: ReactNode[] = [];
  let from = 0;
  let at = lower.indexOf(find);
  while (at >= 0) {
    if (at > from) parts.push(text.slice(from, at));
    parts.push(<mark key={`${key}-${at}`}>{text.slice(at, at + find.length)}</mark>);
    from = at + find.length;
    at = lower.indexOf(find, from);
  }
  if (!parts.length) return text;
  parts.push(text.slice(from));
  return parts;
}

function plainText(text: string, highlight: string | undefined, link: LineLink | null): ReactNode {
  if (!link) return marked(text, highlight);
  return (
    <>
      {marked(text.slice(0, link.start), highlight, 1)}
      <a
        href="#"
        className="trace-link"
        title={link.title}
        onClick={(event) => {
          event.preventDefault();
          link.onOpen();
        }}
      >
        {marked(text.slice(link.start, link.end), highlight, 2)}
      </a>
      {marked(text.slice(link.end), highlight, 3)}
    </>
  );
}

export function LogView({
  buffer,
  label,
  follow,
  onFollowChange,
  emptyText,
  filter,
  highlight,
  current,
  linkOf,
}: LogViewProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [, setVersion] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(400);
  const followRef = useRef(follow);
  followRef.current = follow;

  useEffect(() => {
    let frame = 0;
    const off = buffer.subscribe(() => {
      if (!frame)
        frame = requestAnimationFrame(() => {
          frame = 0;
          setVersion(buffer.version);
        });
    });
    setVersion(buffer.version);
    return () => {
      off();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [buffer]);

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    setHeight(element.clientHeight);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    const element = ref.current;
    if (element && follow) {
      element.scrollTop = element.scrollHeight;
      setScrollTop(element.scrollTop);
    }
  });

  const onScroll = useCallback(() => {
    const element = ref.current;
    if (!element) return;
    setScrollTop(element.scrollTop);
    const atBottom = element.scrollTop + element.clientHeight >= element.scrollHeight - ROW * 1.5;
    if (atBottom !== followRef.current) onFollowChange(atBottom);
  }, [onFollowChange]);

  // With a filter, the view lists the indices of the lines it accepts (recomputed when the buffer changes).
  const version = buffer.version;
  const shownIndices = useMemo(() => {
    if (!filter) return null;
    const out: number[] = [];
    for (let i = 0; i < buffer.length; i++) if (filter(buffer.line(i))) out.push(i);
    return out;
  }, [buffer, filter, version]); // eslint-disable-line react-hooks/exhaustive-deps

  // The current search match scrolled to the middle (follow stops: the reader is looking back).
  useEffect(() => {
    const element = ref.current;
    if (current === null || current === undefined || !element) return;
    const position = shownIndices ? shownIndices.indexOf(current) : current;
    if (position < 0) return;
    if (followRef.current) onFollowChange(false);
    element.scrollTop = Math.max(0, position * ROW - element.clientHeight / 2);
    setScrollTop(element.scrollTop);
  }, [current]); // eslint-disable-line react-hooks/exhaustive-deps

  const count = shownIndices ? shownIndices.length : buffer.length;
  // The number column fits the largest number shown (line 100000 has 6 digits).
  const digits = String(buffer.total).length;
  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const index = shownIndices ? shownIndices[i] : i;
    const line = buffer.line(index);
    const html = lineHtml(line.text);
    const shownText = visibleText(line.text.length > MAX_CHARS ? line.text.slice(0, MAX_CHARS) + " …" : line.text);
    const link = !html && linkOf ? linkOf(shownText) : null;
    rows.push(
      <div
        key={line.number}
        className={`logline ${line.stream}${LEVEL_CLASS[line.level]}${index === current ? " current" : ""}`}
        style={{ top: i * ROW, height: ROW }}
        data-line={line.number}
      >
        <span className="no" title={line.stream === "stderr" ? "written to stderr" : undefined}>
          {line.number}
        </span>
        {html ? (
          <span className="text" dangerouslySetInnerHTML={{ __html: html }} />
        ) : (
          <span className="text">{plainText(shownText, highlight, link)}</span>
        )}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      className="logview"
      role="log"
      aria-label={label}
      aria-live="off"
      tabIndex={0}
      onScroll={onScroll}
      data-lines={buffer.total}
      style={{ "--line-no-width": `${Math.max(4, digits) + 1}ch` } as React.CSSProperties}
    >
      {count === 0 && emptyText ? (
        <p className="empty">{shownIndices && buffer.length > 0 ? "No line matches the filter." : emptyText}</p>
      ) : null}
      {buffer.dropped > 0 && (
        <div className="muted" style={{ position: "sticky", top: 0, background: "var(--bg-panel)", zIndex: 1, padding: "0 8px" }}>
          {buffer.dropped.toLocaleString()} earlier lines not kept in the browser (download the full log from the API)
        </div>
      )}
      <div className="rows" style={{ height: count * ROW }}>
        {rows}
      </div>
    </div>
  );
}
