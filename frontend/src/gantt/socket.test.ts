import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { toColumns } from "./columns";
import { followJob } from "./socket";
import { syntheticEvents } from "./testing";
import type { TaskEvent } from "./types";

/** A stand-in for the browser's WebSocket: records the URLs opened; the test delivers frames and closes. */
class FakeSocket {
  static opened: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  closed = false;
  constructor(public url: string) {
    FakeSocket.opened.push(this);
  }
  deliver(...messages: unknown[]) {
    this.onmessage?.({ data: JSON.stringify({ type: "batch", messages }) });
  }
  close() {
    this.closed = true;
    this.onclose?.({ code: 1000 });
  }
}

const events = syntheticEvents({ tasks: 30, lanes: 3 });
const param = (socket: FakeSocket, name: string) => new URL(socket.url).searchParams.get(name);

describe("job socket", () => {
  beforeEach(() => {
    FakeSocket.opened = [];
    vi.stubGlobal("WebSocket", FakeSocket);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("asks for the history as columns and hands columns and live events to their handlers", () => {
    const pages: number[][] = [];
    const live: TaskEvent[][] = [];
    const stop = followJob(1, ["tasks"], {
      taskColumns: (columns) => pages.push(columns.seq),
      tasks: (received) => live.push(received),
    });
    const socket = FakeSocket.opened[0];
    expect(param(socket, "tasks_format")).toBe("columns");
    socket.deliver({ type: "job.tasks", columns: toColumns(events.slice(0, 10)) }, { type: "synced" });
    socket.deliver({ type: "job.tasks", events: events.slice(10, 12) });
    expect(pages).toEqual([events.slice(0, 10).map((e) => e.seq)]);
    expect(live.map((batch) => batch.map((e) => e.seq))).toEqual([[11, 12]]);
    stop();
  });

  it("reconnects from before a hole the server dropped, ignoring what the old socket still sends", () => {
    const seqs: number[] = [];
    const stop = followJob(1, ["tasks"], {
      taskColumns: (columns) => seqs.push(...columns.seq),
      tasks: (received) => seqs.push(...received.map((e) => e.seq)),
    });
    const first = FakeSocket.opened[0];
    first.deliver({ type: "job.tasks", columns: toColumns(events.slice(0, 5)) });
    first.deliver(
      { type: "dropped", stream: "tasks", first: 6, last: 20, count: 15 },
      { type: "job.tasks", events: events.slice(20, 22) },
    );
    expect(first.closed).toBe(true);
    vi.advanceTimersByTime(1000);
    const second = FakeSocket.opened[1];
    expect(param(second, "tasks_after")).toBe("5");
    second.deliver({ type: "job.tasks", columns: toColumns(events.slice(5, 22)) });
    expect(seqs).toEqual(events.slice(0, 22).map((e) => e.seq));
    stop();
  });
});
