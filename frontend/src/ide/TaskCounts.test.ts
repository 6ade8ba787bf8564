import { describe, expect, it } from "vitest";
import { STATUS_LOST, statusCode } from "../gantt/store";
import { taskCountsText, taskWarning } from "./TaskCounts";
import type { Job } from "../api/types";

const job = (tasks_total: number | null, tasks_failed: number | null, tasks_lost: number | null) =>
  ({ tasks_total, tasks_failed, tasks_lost }) as Job;

describe("task counts of a run", () => {
  it("warns with the count of failed and lost tasks, and says nothing when all finished", () => {
    expect(taskWarning(job(6, 2, 0))).toBe("2 of 6 tasks failed");
    expect(taskWarning(job(4, 0, 3))).toBe("3 of 4 tasks lost");
    expect(taskWarning(job(6, 1, 2))).toBe("1 of 6 tasks failed · 2 lost");
    expect(taskWarning(job(6, 0, 0))).toBe("");
    expect(taskWarning(job(null, null, null))).toBe("");
  });

  it("shows ok/failed/lost in the runs table, leaving out a kind with none, a dash while unknown", () => {
    expect(taskCountsText(job(6, 2, 1))).toBe("3 ok · 2 failed · 1 lost");
    expect(taskCountsText(job(6, 2, 0))).toBe("4 ok · 2 failed");
    expect(taskCountsText(job(2, 0, 2))).toBe("0 ok · 2 lost");
    expect(taskCountsText(job(5, 0, 0))).toBe("5 ok");
    expect(taskCountsText(job(null, null, null))).toBe("–");
  });

  it("reads a lost task from the API as lost, not running", () => {
    expect(statusCode("lost")).toBe(STATUS_LOST);
  });
});
