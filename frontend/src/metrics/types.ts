// `GET /api/v1/jobs/{id}/metrics/` (monitoring/metrics.py).
import type { GroupSummary } from "../gantt/types";

export interface JobMetrics {
  tasks: number;
  statuses: { running: number; finished: number; failed: number; lost?: number };
  durations: { count: number; min: number | null; p50: number | null; p95: number | null; max: number | null; mean: number | null };
  peak_concurrency: number;
  peak_at: number | null;
  stragglers: {
    rule: string;
    threshold: number | null;
    count: number;
    tasks: { key: string; group: string; lane: string; start: number; duration: number }[];
  };
  cold_starts: { count: number; reported: number };
  groups: GroupSummary[];
  resources: {
    samples: number;
    samples_per_point: number;
    peak_rss_bytes: number | null;
    peak_cpu_percent: number | null;
    points: {
      t: number;
      cpu_percent: number;
      rss_bytes: number;
      processes: number;
      read_bytes_per_s: number | null;
      write_bytes_per_s: number | null;
      net_sent_bytes_per_s: number | null;
      net_recv_bytes_per_s: number | null;
    }[];
  };
}
