// The metrics tab of a job: counts by status, durations (p50/p95), peak concurrency, cold starts, concurrency
// over time, the job's CPU and memory, the duration histogram and the stragglers. Live: its own socket
// (`tasks,samples,state`) plus the summary re-read at most once a second; otherwise read once.

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type CSSProperties, useEffect, useMemo, useRef, useState } from "react";
import { keys } from "../api/queries";
import { getJson, jobUrl } from "../gantt/api";
import { formatBytes, formatDuration } from "../gantt/scale";
import { followJob } from "../gantt/socket";
import { PHASES, STATUS_FINISHED, TaskStore } from "../gantt/store";
import { readTheme, type Theme, watchTheme } from "../gantt/theme";
import type { ResourceSampleEvent, TaskEvent, TimelineResponse } from "../gantt/types";
import { TERMINAL_JOB_STATES } from "../gantt/types";
import {
  concurrency,
  concurrencyFromBars,
  drawHistogram,
  drawLineChart,
  type Histogram,
  histogram,
  histogramFromRanks,
  type Point,
  setupCanvas,
} from "./charts";
import type { JobMetrics } from "./types";

export interface MetricsPanelProps {
  jobId: number;
  live: boolean;
}

const BUCKETS = 200;
const BINS = 30;
const RANK_SAMPLES = 40;
const v = (name: string, fallback: string) => `var(${name}, ${fallback})`;
const styles: Record<string, CSSProperties> = {
  root: {
    height: "100%", overflow: "auto", padding: 10, boxSizing: "border-box", color: v("--fg", "#1f2328"),
    background: v("--bg-panel", "#f6f8fa"), font: "13px system-ui, -apple-system, 'Segoe UI', sans-serif",
  },
  tiles: { display: "flex", flexWrap: "wrap", gap: 8, marginBottom: 10 },
  tile: {
    background: v("--bg", "#fff"), border: `1px solid ${v("--border", "#d1d9e0")}`, borderRadius: 6,
    padding: "6px 10px", minWidth: 96,
  },
  tileValue: { fontSize: 18, fontWeight: 600, fontVariantNumeric: "tabular-nums" },
  muted: { color: v("--muted", "#59636e"), fontSize: 12 },
  grid: { display: "grid", gridTemplateColumns: "repeat(auto-fit, minmax(380px, 1fr))", gap: 10 },
  card: {
    background: v("--bg", "#fff"), border: `1px solid ${v("--border", "#d1d9e0")}`, borderRadius: 6, padding: 8,
    minWidth: 0,
  },
  h: { margin: "0 0 6px", fontSize: 13, fontWeight: 600 },
  table: { borderCollapse: "collapse", width: "100%", fontSize: 12, fontVariantNumeric: "tabular-nums" },
  th: { textAlign: "left", padding: "3px 6px", borderBottom: `1px solid ${v("--border", "#d1d9e0")}`, fontWeight: 600 },
  td: { padding: "3px 6px", borderBottom: `1px solid ${v("--border", "#d1d9e0")}`, wordBreak: "break-all" },
}; // prettier-ignore

/** A canvas chart that redraws on resize and theme change. */
function Chart(props: { label: string; height?: number; draw: (ctx: CanvasRenderingContext2D, size: { width: number; height: number }, theme: Theme) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(400);
  const [themeVersion, setThemeVersion] = useState(0);
  const height = props.height ?? 170;
  useEffect(() => {
    if (!box.current) return;
    const observer = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => setWidth(box.current?.clientWidth || 400)) : null;
    observer?.observe(box.current);
    setWidth(box.current.clientWidth || 400);
    const stop = watchTheme(() => setThemeVersion((n) => n + 1));
    return () => {
      observer?.disconnect();
      stop();
    };
  }, []);
  useEffect(() => {
    if (!canvas.current || !box.current) return;
    const theme = readTheme(box.current);
    const size = { width: Math.max(200, width), height };
    const ctx = setupCanvas(canvas.current, size, theme);
    if (ctx) props.draw(ctx, size, theme);
  }, [props, width, height, themeVersion]);
  return (
    <div ref={box} style={{ width: "100%" }}>
      <canvas ref={canvas} role="img" aria-label={props.label} style={{ display: "block" }} />
    </div>
  );
}

function Tile({ label, value, title }: { label: string; value: string; title?: string }) {
  return (
    <div style={styles.tile} title={title}>
      <div style={styles.muted}>{label}</div>
      <div style={styles.tileValue}>{value}</div>
    </div>
  );
}

interface Page<T> {
  count: number;
  results: T[];
}

/** Durations of finished tasks sampled at evenly spaced ranks of the tasks API ordered by duration: every one
 * when few, else RANK_SAMPLES of them (a histogram interpolated between them, counts adding up exactly). */
async function durationRanks(jobId: number, phase: string | null, signal: AbortSignal): Promise<{ ranks: [number, number][]; total: number }> {
  const base = new URLSearchParams({ status: "finished", current: "true", ordering: "duration" });
  if (phase) base.set("phase", phase);
  const url = (page: number, size: number) => `${jobUrl(jobId)}tasks/?${base}&page=${page}&page_size=${size}`;
  const first = await getJson<Page<TaskEvent>>(url(1, 500), signal);
  const total = first.count;
  const ranks: [number, number][] = first.results.map((e, i) => [i, e.duration ?? (e.end ?? e.start) - e.start]);
  if (total <= 2000) {
    for (let page = 2; (page - 1) * 500 < total; page++) {
      const next = await getJson<Page<TaskEvent>>(url(page, 500), signal);
      next.results.forEach((e, i) => ranks.push([(page - 1) * 500 + i, e.duration ?? (e.end ?? e.start) - e.start]));
    }
    return { ranks, total };
  }
  const wanted = Array.from({ length: RANK_SAMPLES }, (_, k) => Math.round(((total - 1) * (k + 1)) / RANK_SAMPLES)).filter((r) => r >= 500);
  for (let k = 0; k < wanted.length; k += 4) {
    const chunk = await Promise.all(
      wanted.slice(k, k + 4).map((rank) => getJson<Page<TaskEvent>>(url(rank + 1, 1), signal).then((p) => [rank, p.results[0]] as const)),
    );
    for (const [rank, e] of chunk) if (e) ranks.push([rank, e.duration ?? (e.end ?? e.start) - e.start]);
  }
  return { ranks, total };
}

function MetricsForJob({ jobId, live }: MetricsPanelProps) {
  const store = useMemo(() => new TaskStore(), []);
  const [version, setVersion] = useState(0);
  const [synced, setSynced] = useState(false);
  const [ended, setEnded] = useState(!live);
  const [samples, setSamples] = useState<ResourceSampleEvent[]>([]);

  // The summary: at once, then once a second while live (and once more when the job ends). The previous
  // figures stay on screen while the next are read.
  const summary = useQuery({
    queryKey: keys.jobMetrics(jobId, live),
    queryFn: ({ signal }) => getJson<JobMetrics>(`${jobUrl(jobId)}metrics/`, signal),
    refetchInterval: live ? 1000 : false,
    placeholderData: keepPreviousData,
  });
  const metrics = summary.data ?? null;
  const error = summary.error ? String(summary.error) : null;

  useEffect(() => {
    if (!live) return;
    let pending = false;
    const bump = () => {
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        setVersion(store.version);
      }, 1000); // charts refresh at most once a second
    };
    return followJob(jobId, ["tasks", "samples", "state"], {
      tasks: (events) => {
        if (store.merge(events)) bump();
      },
      samples: (items) => setSamples((before) => before.concat(items)),
      state: (message) => setEnded(TERMINAL_JOB_STATES.has(message.state)),
      synced: () => {
        setSynced(true);
        setVersion(store.version);
      },
    });
  }, [jobId, live, store]);

  const framework = metrics?.groups.length
    ? metrics.groups.every((g) => g.framework === "dask") ? "compute"
      : metrics.groups.every((g) => g.framework === "lithops") ? "task" : null
    : null; // prettier-ignore
  const finishedCount = metrics?.statuses.finished ?? 0;

  // Without local events: concurrency from the server's timeline (one row per lane) and the histogram from
  // durations sampled by rank. Re-read at most once a second while live.
  // The summary's counts are in the key: new tasks or finished ones mean new figures to read. A key is read
  // once and left (gcTime 0: a live run would otherwise keep one cached timeline a second).
  const summaryFigures = { framework, tasks: metrics?.tasks, finished: finishedCount };
  const fromServer = { enabled: !synced && !!metrics, placeholderData: keepPreviousData, gcTime: 0 };
  const timeline =
    useQuery({
      ...fromServer,
      queryKey: [...keys.jobMetrics(jobId, live), "timeline", summaryFigures],
      queryFn: ({ signal }) => {
        const params = new URLSearchParams({ width: String(BUCKETS * 2), rows: "1000" });
        if (framework) params.set("phase", framework);
        return getJson<TimelineResponse>(`${jobUrl(jobId)}timeline/?${params}`, signal);
      },
    }).data ?? null;
  const ranks =
    useQuery({
      ...fromServer,
      queryKey: [...keys.jobMetrics(jobId, live), "ranks", summaryFigures],
      queryFn: ({ signal }) => durationRanks(jobId, framework, signal),
    }).data ?? null;

  const now = Date.now() / 1000;
  const series = useMemo(() => {
    let t0 = Infinity;
    let t1 = -Infinity;
    let running: Point[] = [];
    let hist: Histogram = { edges: [], counts: [] };
    if (synced && store.size) {
      const primary = new Uint8Array(store.size);
      const starts: number[] = [];
      const ends: number[] = [];
      const durations: number[] = [];
      const openEnd = ended ? store.lastTime : Math.max(store.lastTime, now);
      for (let i = 0; i < store.size; i++) {
        const phase = PHASES[store.phase[i]];
        primary[i] = phase === "task" || phase === "compute" ? 1 : 0;
        if (!primary[i]) continue;
        const end = store.endOf(i, openEnd);
        starts.push(store.start[i]);
        ends.push(end);
        if (store.status[i] === STATUS_FINISHED) durations.push(end - store.start[i]);
      }
      t0 = store.firstStart;
      t1 = Math.max(t0 + 1e-3, openEnd);
      running = concurrency(starts, ends, starts.length, t0, t1, BUCKETS);
      hist = histogram(durations, BINS);
    } else {
      if (timeline) {
        t0 = timeline.window.start;
        t1 = timeline.window.end;
        running = concurrencyFromBars(timeline.bars, timeline.rows.map((r) => r.lanes.length), t0, t1, BUCKETS);
      }
      if (ranks) hist = histogramFromRanks(ranks.ranks, ranks.total, BINS);
    }
    // Resource samples: the server's series, then live samples after its last point.
    const points = metrics?.resources.points ?? [];
    const lastT = points.length ? points[points.length - 1].t : -Infinity;
    const cpu: Point[] = points.map((p) => ({ t: p.t, v: p.cpu_percent }));
    const rss: Point[] = points.map((p) => ({ t: p.t, v: p.rss_bytes }));
    for (const s of samples) {
      if (s.t <= lastT) continue;
      cpu.push({ t: s.t, v: s.cpu_percent });
      rss.push({ t: s.t, v: s.rss_bytes });
    }
    if (cpu.length) {
      t0 = Math.min(t0, cpu[0].t);
      t1 = Math.max(t1, cpu[cpu.length - 1].t);
    }
    if (!Number.isFinite(t0)) {
      t0 = now - 60;
      t1 = now;
    }
    return { t0, t1, running, hist, cpu, rss };
  }, [synced, version, timeline, ranks, metrics, samples, ended]); // eslint-disable-line react-hooks/exhaustive-deps

  const m = metrics;
  const cold = m?.cold_starts;
  return (
    <div style={styles.root} data-testid="metrics" aria-busy={!m}>
      {error && !m ? <div role="alert">Could not load the metrics: {error}</div> : null}
      <div style={styles.tiles}>
        <Tile label="Tasks" value={m ? m.tasks.toLocaleString() : "–"} />
        <Tile label="Running" value={m ? m.statuses.running.toLocaleString() : "–"} />
        <Tile label="Finished" value={m ? m.statuses.finished.toLocaleString() : "–"} />
        <Tile label="Failed" value={m ? m.statuses.failed.toLocaleString() : "–"} />
        <Tile label="Lost" value={m ? (m.statuses.lost ?? 0).toLocaleString() : "–"} />
        <Tile label="p50" value={formatDuration(m?.durations.p50)} title="Median duration of finished tasks" />
        <Tile label="p95" value={formatDuration(m?.durations.p95)} />
        <Tile label="Max" value={formatDuration(m?.durations.max)} />
        <Tile label="Peak concurrency" value={m ? String(m.peak_concurrency) : "–"} />
        <Tile
          label="Cold starts"
          value={cold && cold.reported ? `${cold.count} / ${cold.reported}` : "–"}
          title="Lithops tasks that ran on a cold worker / that reported it"
        />
        <Tile label="Peak memory" value={formatBytes(m?.resources.peak_rss_bytes)} />
      </div>
      <div style={styles.grid}>
        <section style={styles.card} aria-label="Concurrency over time">
          <h3 style={styles.h}>Tasks running</h3>
          <Chart
            label={`Tasks running over time; peak ${m?.peak_concurrency ?? 0}`}
            draw={(ctx, size, theme) =>
              drawLineChart(ctx, size, theme, [{ points: series.running, colour: theme.running, fill: true }], {
                t0: series.t0, t1: series.t1, yFormat: (x) => String(Math.round(x)), integer: true,
              })
            }
          />
        </section>
        <section style={styles.card} aria-label="Duration histogram">
          <h3 style={styles.h}>Task durations {synced || (ranks && ranks.ranks.length >= ranks.total) ? "" : "(interpolated)"}</h3>
          <Chart
            label={`Histogram of finished task durations; p50 ${formatDuration(m?.durations.p50)}, p95 ${formatDuration(m?.durations.p95)}`}
            draw={(ctx, size, theme) =>
              drawHistogram(ctx, size, theme, series.hist, [
                { value: m?.durations.p50 ?? NaN, label: "p50", colour: theme.ok },
                { value: m?.durations.p95 ?? NaN, label: "p95", colour: theme.warn },
              ])
            }
          />
        </section>
        <section style={styles.card} aria-label="CPU of the job">
          <h3 style={styles.h}>CPU (% of one core)</h3>
          <Chart
            label={`CPU of the job's processes; peak ${m?.resources.peak_cpu_percent ?? 0} percent`}
            draw={(ctx, size, theme) =>
              drawLineChart(ctx, size, theme, [{ points: series.cpu, colour: theme.accent, fill: true }], {
                t0: series.t0, t1: series.t1, yFormat: (x) => `${Math.round(x)}%`, empty: "No samples yet",
              })
            }
          />
        </section>
        <section style={styles.card} aria-label="Memory of the job">
          <h3 style={styles.h}>Memory (RSS)</h3>
          <Chart
            label={`Memory of the job's processes; peak ${formatBytes(m?.resources.peak_rss_bytes)}`}
            draw={(ctx, size, theme) =>
              drawLineChart(ctx, size, theme, [{ points: series.rss, colour: theme.queued, fill: true }], {
                t0: series.t0, t1: series.t1, yFormat: formatBytes, empty: "No samples yet",
              })
            }
          />
        </section>
        <section style={{ ...styles.card, gridColumn: "1 / -1" }} aria-label="Stragglers">
          <h3 style={styles.h}>
            Stragglers {m ? `(${m.stragglers.count})` : ""}{" "}
            <span style={{ ...styles.muted, fontWeight: 400 }}>{m?.stragglers.rule}</span>
          </h3>
          {m && m.stragglers.tasks.length ? (
            <table style={styles.table}>
              <thead>
                <tr>
                  <th style={styles.th}>Task</th>
                  <th style={styles.th}>Group</th>
                  <th style={styles.th}>Lane</th>
                  <th style={styles.th}>Started</th>
                  <th style={styles.th}>Duration</th>
                  <th style={styles.th}>× p50</th>
                </tr>
              </thead>
              <tbody>
                {m.stragglers.tasks.map((task) => (
                  <tr key={`${task.key}-${task.start}`}>
                    <td style={styles.td}>{task.key}</td>
                    <td style={styles.td}>{task.group}</td>
                    <td style={styles.td}>{task.lane}</td>
                    <td style={styles.td}>+{formatDuration(task.start - series.t0)}</td>
                    <td style={styles.td}>{formatDuration(task.duration)}</td>
                    <td style={styles.td}>{m.durations.p50 ? (task.duration / m.durations.p50).toFixed(1) : "–"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <div style={styles.muted}>{m ? "None: no finished task is far slower than the rest." : "Loading…"}</div>
          )}
        </section>
        {m && m.groups.length > 1 ? (
          <section style={{ ...styles.card, gridColumn: "1 / -1" }} aria-label="Groups">
            <h3 style={styles.h}>Groups</h3>
            <table style={styles.table}>
              <thead>
                <tr>
                  {["Group", "Framework", "Tasks", "Running", "Finished", "Failed", "Lost", "Duration"].map((h) => (
                    <th key={h} style={styles.th}>{h}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {m.groups.map((g) => (
                  <tr key={g.group}>
                    <td style={styles.td}>{g.group}</td>
                    <td style={styles.td}>{g.framework}</td>
                    <td style={styles.td}>{g.tasks}</td>
                    <td style={styles.td}>{g.running}</td>
                    <td style={styles.td}>{g.finished}</td>
                    <td style={styles.td}>{g.failed}</td>
                    <td style={styles.td}>{g.lost ?? 0}</td>
                    <td style={styles.td}>{g.end !== null ? formatDuration(g.end - g.start) : "running"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ) : null}
      </div>
    </div>
  );
}

/** `<MetricsPanel jobId={42} live={job.state === "running"} />` */
export function MetricsPanel({ jobId, live }: MetricsPanelProps) {
  return <MetricsForJob key={jobId} jobId={jobId} live={live} />;
}
