import { FIGURES, formatFigure, timeOfDay } from "./figures";

describe("task figures with their units", () => {
  it("gives Lithops' figures the unit they are measured in", () => {
    // The 98 ms task of the report: its CPU figures are the whole machine's, in seconds, and say so.
    expect(formatFigure("worker_func_exec_time", 0.098)).toBe("98 ms");
    expect(formatFigure("worker_func_cpu_user_time", 1698.2)).toBe("28 m 18 s (CPU, whole machine since boot)");
    expect(FIGURES.worker_func_cpu_user_time.note).toMatch(/whole machine/);
    // Memory: every reading in bytes, rss like vms and uss.
    expect(formatFigure("worker_func_rss", 50 * 1024 ** 2)).toBe("50.0 MiB");
    expect(formatFigure("worker_func_vms", 3.5 * 1024 ** 3)).toBe("3.5 GiB");
    expect(formatFigure("worker_func_uss", 12 * 1024)).toBe("12.0 KiB");
    expect(formatFigure("func_result_size", 512)).toBe("512 B");
    expect(formatFigure("nbytes", 2048)).toBe("2.0 KiB"); // Dask
    expect(formatFigure("host_status_query_count", 1234)).toBe("1,234");
  });

  it("shows epoch timestamps as the time of day", () => {
    const at = new Date(2026, 11, 5, 19, 20, 1, 123).getTime() / 1000;
    expect(timeOfDay(at)).toBe("19:20:01.123");
    expect(formatFigure("worker_start_tstamp", at)).toBe("19:20:01.123");
  });

  it("shows an unknown figure as it came, with no unit guessed from its name", () => {
    expect(formatFigure("my_total_time", 1698.2)).toBe("1698.2");
    expect(formatFigure("rss_of_something", 52428800)).toBe("52428800");
    expect(formatFigure("thread", 140234)).toBe("140234");
    expect(formatFigure("worker_cold_start", true)).toBe("true");
    expect(formatFigure("constructor", 3)).toBe("3");
    expect(formatFigure("worker_func_rss", "n/a")).toBe("n/a");
  });
});
