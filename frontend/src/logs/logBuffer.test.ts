// @vitest-environment node
import { describe, expect, it } from "vitest";
import { LogBuffer, visibleText, type Chunk } from "./logBuffer";
import { ansiToHtml } from "./ansi";

const out = (seq: number, text: string, stream: Chunk["stream"] = "stdout"): Chunk => ({ seq, stream, text });

describe("LogBuffer", () => {
  it("splits chunks into lines and joins a line cut between chunks", () => {
    const buffer = new LogBuffer();
    buffer.add([out(1, "squares: [0, 1]\nsum: "), out(2, "1\n"), out(3, "tail without newline")]);
    expect(buffer.lines().map((l) => l.text)).toEqual(["squares: [0, 1]", "sum: 1", "tail without newline"]);
    expect(buffer.lastSeq).toBe(3);
    expect(buffer.line(1).number).toBe(2);
  });

  it("keeps streams apart and blank lines", () => {
    const buffer = new LogBuffer();
    // stdout wrote "a\n\nb\n": its lines are "a", "" and "b", whatever stderr wrote in between.
    buffer.add([out(1, "a"), out(2, "err\n", "stderr"), out(3, "\n\nb\n")]);
    expect(buffer.lines().map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "a"],
      ["stderr", "err"],
      ["stdout", ""],
      ["stdout", "b"],
    ]);
  });

  it("ends a print's line with its newline read after another stream's lines, with no empty line", () => {
    // An unbuffered print("starting") writes "starting" and "\n" apart; the traceback on stderr came in between.
    const buffer = new LogBuffer();
    buffer.add([out(1, "starting"), out(2, "Traceback (most recent call last):\n", "stderr"), out(3, "\n")]);
    expect(buffer.lines().map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "starting"],
      ["stderr", "Traceback (most recent call last):"],
    ]);
    buffer.add([out(4, "next\n")]);
    expect(buffer.lines().map((l) => l.text)).toEqual(["starting", "Traceback (most recent call last):", "next"]);
  });

  it("keeps the task stream (what a job's tasks printed) apart from stdout", () => {
    const buffer = new LogBuffer();
    buffer.add([out(1, "[task M000/0] hello\n", "task"), out(2, "[0]\n")]);
    expect(buffer.lines().map((l) => [l.stream, l.text])).toEqual([
      ["task", "[task M000/0] hello"],
      ["stdout", "[0]"],
    ]);
  });

  it("ignores duplicates", () => {
    const buffer = new LogBuffer();
    expect(buffer.add([out(1, "x\n"), out(2, "y\n")])).toBe(true);
    expect(buffer.add([out(1, "x\n"), out(2, "y\n")])).toBe(false);
    expect(buffer.length).toBe(2);
  });

  it("holds chunks after a gap until the missing ones arrive, and says where to refetch", () => {
    const buffer = new LogBuffer();
    buffer.add([out(1, "one\n"), out(3, "three\n"), out(4, "four\n")]);
    expect(buffer.text()).toBe("one");
    expect(buffer.missingAfter()).toBe(1);
    buffer.add([out(3, "three\n")]); // a duplicate of a pending chunk changes nothing
    expect(buffer.pendingCount).toBe(2);
    buffer.add([out(2, "two\n")]);
    expect(buffer.text()).toBe("one\ntwo\nthree\nfour");
    expect(buffer.missingAfter()).toBeNull();
    expect(buffer.lastSeq).toBe(4);
  });

  it("applies out-of-order chunks in seq order", () => {
    const buffer = new LogBuffer();
    buffer.add([out(3, "c\n"), out(2, "b\n"), out(1, "a\n")]);
    expect(buffer.text()).toBe("a\nb\nc");
  });

  it("caps memory by dropping the oldest blocks and keeps numbering", () => {
    const buffer = new LogBuffer({ maxLines: 2048, blockSize: 1024 });
    const chunks: Chunk[] = [];
    for (let i = 0; i < 10; i++) {
      chunks.push(out(i + 1, Array.from({ length: 1000 }, (_, j) => `line ${i * 1000 + j}`).join("\n") + "\n"));
    }
    buffer.add(chunks);
    expect(buffer.total).toBe(10_000);
    expect(buffer.length).toBeLessThanOrEqual(2048);
    expect(buffer.dropped + buffer.length).toBe(10_000);
    const last = buffer.line(buffer.length - 1);
    expect(last.text).toBe("line 9999");
    expect(last.number).toBe(10_000);
    const first = buffer.line(0);
    expect(first.text).toBe(`line ${first.number - 1}`);
  });

  it("takes a hundred thousand lines quickly", () => {
    const buffer = new LogBuffer();
    const started = performance.now();
    for (let seq = 1; seq <= 1000; seq++) {
      const base = (seq - 1) * 100;
      buffer.add([out(seq, Array.from({ length: 100 }, (_, j) => `line ${base + j}`).join("\n") + "\n")]);
    }
    expect(buffer.length).toBe(100_000);
    expect(buffer.line(99_999).text).toBe("line 99999");
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("notifies subscribers and clears", () => {
    const buffer = new LogBuffer();
    let calls = 0;
    const off = buffer.subscribe(() => calls++);
    buffer.add([out(1, "x\n")]);
    buffer.clear();
    off();
    buffer.add([out(1, "y\n")]);
    expect(calls).toBe(2);
    expect(buffer.text()).toBe("y");
  });
});

describe("rendering", () => {
  it("shows what follows the last carriage return", () => {
    expect(visibleText("10%\r50%\r100%")).toBe("100%");
    expect(visibleText("done\r")).toBe("done");
  });

  it("turns ANSI colours into spans and escapes HTML", () => {
    const html = ansiToHtml("\u001b[31mred <b>&</b>\u001b[0m plain");
    expect(html).toContain("<span");
    expect(html).toContain("&lt;b&gt;&amp;&lt;/b&gt;");
    expect(html).not.toContain("<b>");
    expect(html).toContain("plain");
  });
});
