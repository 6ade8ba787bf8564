// How a run's tasks ended, beside its state: a run whose script exited 0 is "succeeded" even when some of its
// tasks raised, so the failed (and lost) ones are said in a warning badge rather than hidden behind the green.
import type { Job } from "../api/types";

/** "2 of 6 tasks failed · 1 lost", or "" when every task finished (or the counts are not known yet). */
export function taskWarning(job: Pick<Job, "tasks_total" | "tasks_failed" | "tasks_lost">): string {
  const total = job.tasks_total ?? 0;
  const failed = job.tasks_failed ?? 0;
  const lost = job.tasks_lost ?? 0;
  if (!failed && !lost) return "";
  const parts = [];
  if (failed) parts.push(`${failed} of ${total} tasks failed`);
  if (lost) parts.push(failed ? `${lost} lost` : `${lost} of ${total} tasks lost`);
  return parts.join(" · ");
}

export function TaskWarningBadge({ job }: { job: Job }) {
  const text = taskWarning(job);
  if (!text) return null;
  return (
    <span
      className="badge badge-warn"
      data-testid="task-warning"
      title="Lost tasks had not reported their end when the run's processes ended (cancelled, timed out, killed)."
    >
      ⚠ {text}
    </span>
  );
}

/** The Tasks cell of the runs table: "4 ok · 2 failed" (a kind with none is left out, to fit one line), or "–"
 * while unknown. */
export function taskCountsText(job: Job): string {
  if (job.tasks_total === null || job.tasks_total === undefined) return "–";
  const failed = job.tasks_failed ?? 0;
  const lost = job.tasks_lost ?? 0;
  const parts = [`${job.tasks_total - failed - lost} ok`];
  if (failed) parts.push(`${failed} failed`);
  if (lost) parts.push(`${lost} lost`);
  return parts.join(" · ");
}
