// The Gantt chart around its canvas engine: toolbar, legend, tooltip, details, screen-reader summary.
// Data comes in from the outside (GanttPanel: the API and the live socket; the render bench: synthetic tasks).

import { type CSSProperties, useEffect, useRef, useState } from "react";
import { type BarInfo, type ColourBy, type DrawStats, GanttEngine, type TimelineQuery } from "./engine";
import { figureKind, formatFigure } from "./figures";
import { formatDuration } from "./scale";
import type { TaskStore } from "./store";
import { watchTheme } from "./theme";
import type { TaskEvent, TimelineResponse } from "./types";

export interface GanttChartProps {
  store: TaskStore;
  /** Bumped by the owner when the store changed. */
  version: number;
  live: boolean;
  synced: boolean;
  jobEnded: boolean;
  endedAt: number | null;
  fetchTimeline?: (query: TimelineQuery, signal: AbortSignal) => Promise<TimelineResponse>;
  /** The full event of a task (error, figures) when the bar came from the server. */
  fetchTask?: (key: string, phase: string | null) => Promise<TaskEvent | null>;
  exportBase?: string;
  onDraw?: (stats: DrawStats) => void;
  onEngine?: (engine: GanttEngine | null) => void;
}

const v = (name: string, fallback: string) => `var(${name}, ${fallback})`;
const styles: Record<string, CSSProperties> = {
  root: {
    display: "flex", flexDirection: "column", height: "100%", minHeight: 320, color: v("--fg", "#1f2328"),
    background: v("--bg-panel", "#f6f8fa"), font: "13px system-ui, -apple-system, 'Segoe UI', sans-serif",
  },
  toolbar: {
    display: "flex", flexWrap: "wrap", alignItems: "center", gap: 8, padding: "6px 8px",
    borderBottom: `1px solid ${v("--border", "#d1d9e0")}`,
  },
  button: {
    font: "inherit", color: "inherit", background: v("--bg", "#fff"), border: `1px solid ${v("--border", "#d1d9e0")}`,
    borderRadius: 4, padding: "2px 8px", cursor: "pointer", minWidth: 28,
  },
  canvasBox: { position: "relative", flex: 1, minHeight: 200, overflow: "hidden" },
  canvas: { display: "block", outlineOffset: -2, cursor: "crosshair" },
  tooltip: {
    position: "absolute", pointerEvents: "none", zIndex: 2, maxWidth: 360, padding: "6px 8px", fontSize: 12,
    background: v("--bg", "#fff"), color: v("--fg", "#1f2328"), border: `1px solid ${v("--border", "#d1d9e0")}`,
    borderRadius: 4, boxShadow: "0 2px 8px rgba(0,0,0,.25)", whiteSpace: "nowrap",
  },
  details: {
    borderTop: `1px solid ${v("--border", "#d1d9e0")}`, padding: "8px 10px", maxHeight: "40%", overflow: "auto",
    background: v("--bg", "#fff"),
  },
  pre: {
    whiteSpace: "pre-wrap", margin: "6px 0 0", padding: 8, fontSize: 12, background: v("--bg-panel", "#f6f8fa"),
    border: `1px solid ${v("--border", "#d1d9e0")}`, borderRadius: 4, color: v("--fail", "#cf222e"),
  },
  output: {
    whiteSpace: "pre-wrap", overflowWrap: "anywhere", margin: "6px 0 0", padding: 8, maxHeight: 240, overflow: "auto",
    font: "12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", background: v("--bg-panel", "#f6f8fa"),
    border: `1px solid ${v("--border", "#d1d9e0")}`, borderRadius: 4, color: v("--fg", "#1f2328"),
  },
  muted: { color: v("--muted", "#59636e") },
  swatch: { display: "inline-block", width: 10, height: 10, borderRadius: 2, marginRight: 4, verticalAlign: "-1px" },
  offscreen: { position: "absolute", width: 1, height: 1, overflow: "hidden", clip: "rect(0 0 0 0)", whiteSpace: "nowrap" },
}; // prettier-ignore

const STATUS_LEGEND: [string, string, string][] = [
  ["running", "--running", "#0969da"], ["finished", "--ok", "#1a7f37"], ["failed", "--fail", "#cf222e"],
  ["lost (job ended)", "--cancelled", "#6e7781"],
]; // prettier-ignore
const PHASE_LEGEND: [string, string, string][] = [
  ["task", "--accent", "#0969da"], ["compute", "--ok", "#1a7f37"], ["transfer", "--warn", "#9a6700"],
  ["disk-read", "--queued", "#8250df"], ["disk-write", "--cancelled", "#6e7781"], ["failed", "--fail", "#cf222e"],
]; // prettier-ignore

function Figures({ figures, limit }: { figures: Record<string, unknown> | null; limit?: number }) {
  const entries = Object.entries(figures ?? {}).slice(0, limit ?? 100);
  if (!entries.length) return null;
  return (
    <table style={{ borderCollapse: "collapse", fontSize: 12, marginTop: 4 }}>
      <tbody>
        {entries.map(([name, value]) => (
          <tr key={name} title={figureKind(name)?.note}>
            <td style={{ ...styles.muted, paddingRight: 10 }}>{name}</td>
            <td style={{ fontVariantNumeric: "tabular-nums" }}>{formatFigure(name, value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** What the tasks without an end are: running, or lost once the job has ended (its bars are drawn lost). */
function openLabel(info: BarInfo): string {
  return info.status === "lost" ? "lost" : "running";
}

function summary(info: BarInfo): string {
  if (info.count > 1) {
    const { running, finished, failed } = info.statuses;
    return `${info.count} tasks: ${finished} finished, ${failed} failed, ${running} ${openLabel(info)}`;
  }
  return `${info.key ?? "task"} · ${info.status} · ${formatDuration(info.end - info.start)}`;
}

function Tooltip({ info, box }: { info: BarInfo; box: HTMLElement | null }) {
  const width = box?.clientWidth ?? 800;
  const left = Math.min(Math.max(4, info.x + 12), width - 300);
  const height = box?.clientHeight ?? 400;
  const top = info.y + 6 > height - 120 ? Math.max(4, info.y - 140) : info.y + 6;
  return (
    <div role="tooltip" style={{ ...styles.tooltip, left, top }}>
      {info.count > 1 ? (
        <>
          <strong>{info.count} tasks</strong> <span style={styles.muted}>(zoom in or click to see them)</span>
          <div>
            {info.statuses.finished} finished · {info.statuses.failed} failed · {info.statuses.running}{" "}
            {openLabel(info)}
          </div>
          <div style={styles.muted}>
            {info.row} · {formatDuration(info.end - info.start)}
          </div>
        </>
      ) : (
        <>
          <strong>{info.key}</strong>
          <div>
            {info.status} · {formatDuration(info.end - info.start)}
            {info.phase ? ` · ${info.phase}` : ""}
          </div>
          <div style={styles.muted}>
            {info.group ? `${info.group} · ` : ""}
            {info.lane ?? info.row}
          </div>
          <Figures figures={info.figures} limit={8} />
          {info.error ? <div style={{ color: v("--fail", "#cf222e") }}>{info.error.trim().split("\n").pop()}</div> : null}
        </>
      )}
    </div>
  );
}

export function GanttChart(props: GanttChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const engine = useRef<GanttEngine | null>(null);
  const [hover, setHover] = useState<BarInfo | null>(null);
  const [selected, setSelected] = useState<BarInfo | null>(null);
  const [detail, setDetail] = useState<TaskEvent | null | "loading">(null);
  const [colourBy, setColourBy] = useState<ColourBy>("status");
  const [stats, setStats] = useState<DrawStats | null>(null);
  const [announce, setAnnounce] = useState("");
  const propsRef = useRef(props);
  propsRef.current = props;
  const lastStats = useRef(0);
  const latestStats = useRef<DrawStats | null>(null);
  const statsTimer = useRef<number | null>(null);

  useEffect(() => {
    if (!box.current || !canvas.current) return;
    const instance = new GanttEngine(box.current, canvas.current, {
      store: props.store,
      fetchTimeline: props.fetchTimeline ? (query, signal) => propsRef.current.fetchTimeline!(query, signal) : undefined,
      onHover: setHover,
      onSelect: setSelected,
      onDraw: (drawn) => {
        propsRef.current.onDraw?.(drawn);
        // At most ~3 re-renders a second, but the last frame's figures always show (a trailing update).
        latestStats.current = drawn;
        if (statsTimer.current !== null) return;
        const wait = Math.max(0, 300 - (performance.now() - lastStats.current));
        statsTimer.current = window.setTimeout(() => {
          statsTimer.current = null;
          lastStats.current = performance.now();
          setStats(latestStats.current);
        }, wait);
      },
    });
    engine.current = instance;
    propsRef.current.onEngine?.(instance);
    const stopWatching = watchTheme(() => instance.refreshTheme());
    return () => {
      stopWatching();
      if (statsTimer.current !== null) window.clearTimeout(statsTimer.current);
      statsTimer.current = null;
      instance.destroy();
      engine.current = null;
      propsRef.current.onEngine?.(null);
    };
  }, [props.store]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => engine.current?.setLive(props.live, props.synced), [props.live, props.synced]);
  useEffect(() => engine.current?.setJobEnded(props.jobEnded, props.endedAt), [props.jobEnded, props.endedAt]);
  useEffect(() => engine.current?.dataChanged(), [props.version]);
  useEffect(() => engine.current?.setColourBy(colourBy), [colourBy]);

  // Details of the selected task: local tasks carry their error and figures, server bars are fetched. What an
  // ended task printed is never on a live event (it would weigh on every one): it is fetched for local bars too.
  const ended = selected !== null && selected.status !== "running";
  useEffect(() => {
    setDetail(null);
    if (!selected || selected.count !== 1 || !selected.key) return;
    if ((selected.figures !== null && !ended) || !props.fetchTask) return;
    let cancelled = false;
    if (selected.figures === null) setDetail("loading");
    props.fetchTask(selected.key, selected.phase).then(
      (event) => !cancelled && setDetail(event),
      () => !cancelled && setDetail(null),
    );
    return () => {
      cancelled = true;
    };
  }, [selected, ended, props.fetchTask]);

  // A short summary for screen readers, at most every few seconds.
  useEffect(() => {
    if (!stats) return;
    const timer = setTimeout(() => {
      const view = stats.view;
      const span = view ? formatDuration(view.end - view.start) : "nothing";
      setAnnounce(`${stats.tasks} tasks; ${stats.inWindow} in view (${span} wide), ${stats.bars} bars drawn.`);
    }, 2000);
    return () => clearTimeout(timer);
  }, [stats]);

  const legend = colourBy === "status" ? STATUS_LEGEND : PHASE_LEGEND;
  const error = detail && detail !== "loading" ? detail.error : selected?.error;
  const figures = detail && detail !== "loading" ? detail.figures ?? null : selected?.figures ?? null;
  const output = detail && detail !== "loading" ? detail.output ?? "" : "";
  return (
    <div style={styles.root}>
      <div style={styles.toolbar} role="toolbar" aria-label="Gantt chart controls">
        <button type="button" style={styles.button} onClick={() => engine.current?.zoom(1.5)} aria-label="Zoom in" title="Zoom in (+)">
          +
        </button>
        <button type="button" style={styles.button} onClick={() => engine.current?.zoom(1 / 1.5)} aria-label="Zoom out" title="Zoom out (−)">
          −
        </button>
        <button type="button" style={styles.button} onClick={() => engine.current?.reset()} title="Show everything (0)">
          Reset
        </button>
        <label>
          <span style={styles.muted}>Colour by </span>
          <select style={styles.button} value={colourBy} onChange={(e) => setColourBy(e.target.value as ColourBy)}>
            <option value="status">status</option>
            <option value="phase">phase</option>
          </select>
        </label>
        <span aria-hidden="true">
          {legend.map(([label, variable, fallback]) => (
            <span key={label} style={{ marginRight: 10 }}>
              <span style={{ ...styles.swatch, background: v(variable, fallback) }} />
              {label}
            </span>
          ))}
        </span>
        <span style={{ ...styles.muted, marginLeft: "auto" }}>
          {stats
            ? `${stats.tasks.toLocaleString()} tasks · ${stats.inWindow.toLocaleString()} in view${stats.exact ? "" : " (merged to fit)"}`
            : ""}
        </span>
        {props.exportBase ? (
          <span>
            <a href={`${props.exportBase}export/trace/`} style={{ color: v("--accent", "#0969da") }} download>
              Trace
            </a>{" "}
            ·{" "}
            <a href={`${props.exportBase}export/csv/`} style={{ color: v("--accent", "#0969da") }} download>
              CSV
            </a>
          </span>
        ) : null}
      </div>
      <div ref={box} style={styles.canvasBox} data-testid="gantt" data-bars="0" data-tasks="0">
        <canvas
          ref={canvas}
          style={styles.canvas}
          tabIndex={0}
          role="img"
          aria-label={
            "Gantt chart of the job's tasks, one row per worker lane, time from left to right. " +
            "Keys: plus and minus zoom, left and right arrows pan, 0 resets, up and down arrows choose a row, " +
            "comma and period move between bars, Enter shows the task's details, Escape clears."
          }
        />
        {hover ? <Tooltip info={hover} box={box.current} /> : null}
        <div aria-live="polite" style={styles.offscreen}>
          {announce}
        </div>
      </div>
      {selected ? (
        <section style={styles.details} aria-label="Task details">
          <div style={{ display: "flex", gap: 8, alignItems: "baseline" }}>
            <strong style={{ wordBreak: "break-all" }}>{selected.key ?? summary(selected)}</strong>
            <span style={styles.muted}>{summary(selected)}</span>
            <button type="button" style={{ ...styles.button, marginLeft: "auto" }} onClick={() => setSelected(null)}>
              Close
            </button>
          </div>
          <div style={styles.muted}>
            {selected.group ? `group ${selected.group} · ` : ""}lane {selected.lane ?? selected.row}
            {selected.phase ? ` · phase ${selected.phase}` : ""}
            {selected.seq !== null ? ` · event #${selected.seq}` : ""} · started{" "}
            {new Date(selected.start * 1000).toLocaleTimeString()}
          </div>
          {detail === "loading" ? <div style={styles.muted}>Loading…</div> : null}
          {/* A lost task did not raise: why it has no end is said in the muted colour, not as an error. */}
          {error ? <pre style={selected.status === "lost" ? { ...styles.pre, ...styles.muted } : styles.pre}>{error}</pre> : null}
          {output ? (
            <section aria-label="Task output">
              <div style={{ ...styles.muted, marginTop: 6 }}>Output</div>
              <pre style={styles.output} tabIndex={0} data-testid="task-output">
                {output}
              </pre>
            </section>
          ) : null}
          <Figures figures={figures} />
        </section>
      ) : null}
    </div>
  );
}
