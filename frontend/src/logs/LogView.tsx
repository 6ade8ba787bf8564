// A virtualised view of a LogBuffer: only the rows in sight are in the DOM, so 100k lines scroll smoothly.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { ansiToHtml } from "./ansi";
import { LEVEL_CLASS } from "./levels";
import { LogBuffer, visibleText } from "./logBuffer";

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

export interface LogViewProps {
  buffer: LogBuffer;
  label: string;
  follow: boolean;
  onFollowChange: (follow: boolean) => void;
  emptyText?: string;
}

export function LogView({ buffer, label, follow, onFollowChange, emptyText }: LogViewProps) {
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

  const count = buffer.length;
  // The number column fits the largest number shown (line 100000 has 6 digits).
  const digits = String(buffer.total).length;
  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + height) / ROW) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const line = buffer.line(i);
    const html = lineHtml(line.text);
    rows.push(
      <div key={line.number} className={`logline ${line.stream}${LEVEL_CLASS[line.level]}`} style={{ top: i * ROW, height: ROW }}>
        <span className="no" title={line.stream === "stderr" ? "written to stderr" : undefined}>
          {line.number}
        </span>
        {html ? (
          <span className="text" dangerouslySetInnerHTML={{ __html: html }} />
        ) : (
          <span className="text">{visibleText(line.text.length > MAX_CHARS ? line.text.slice(0, MAX_CHARS) + " …" : line.text)}</span>
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
      {count === 0 && emptyText ? <p className="empty">{emptyText}</p> : null}
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
