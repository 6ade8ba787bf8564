// @vitest-environment node
import { describe, expect, it } from "vitest";
import { ERROR, INFO, NONE, WARNING, levelOf } from "./levels";
import { type Chunk, LogBuffer } from "./logBuffer";

const chunk = (seq: number, text: string, stream: Chunk["stream"] = "stderr"): Chunk => ({ seq, stream, text });
const levels = (buffer: LogBuffer) => buffer.lines().map((line) => [line.text, line.level]);

describe("log levels", () => {
  it("reads the level where logging libraries write it, not a word in a sentence", () => {
    expect(levelOf("2026-12-05 19:20:01,123 [INFO] lithops.config -- Lithops v3.8.0 - Python3.11")).toBe(INFO);
    expect(levelOf("2026-12-05 19:20:01,123 [WARNING] lithops.invokers -- slow")).toBe(WARNING);
    expect(levelOf("WARNING:root:disk almost full")).toBe(WARNING);
    expect(levelOf("ERROR: could not connect")).toBe(ERROR);
    expect(levelOf("2026-12-05 19:20:01,123 - distributed.worker - ERROR - Compute Failed")).toBe(ERROR);
    expect(levelOf("2026-12-05 19:20:01.123 | CRITICAL | app:main:3 - down")).toBe(ERROR);
    expect(levelOf("2026-12-05T19:20:01 DEBUG connecting")).toBe(INFO);
    expect(levelOf("\u001b[32m[INFO]\u001b[0m coloured by the script")).toBe(INFO);
    expect(levelOf("no ERROR found in 12 files")).toBe(NONE);
    expect(levelOf("plain text")).toBe(NONE);
  });

  it("does not draw Lithops' INFO lines on stderr as errors, nor plain stderr", () => {
    const buffer = new LogBuffer();
    buffer.add([
      chunk(1, "2026-12-05 19:20:01,123 [INFO] lithops.config -- Lithops v3.8.0\n"),
      chunk(2, "squares [0, 1, 4]\n", "stdout"),
      chunk(3, "some progress on stderr\n"),
      chunk(4, "2026-12-05 19:20:02,001 [WARNING] lithops.executors -- retrying\n"),
    ]);
    expect(levels(buffer)).toEqual([
      ["2026-12-05 19:20:01,123 [INFO] lithops.config -- Lithops v3.8.0", INFO],
      ["squares [0, 1, 4]", NONE],
      ["some progress on stderr", NONE],
      ["2026-12-05 19:20:02,001 [WARNING] lithops.executors -- retrying", WARNING],
    ]);
  });

  it("draws a whole traceback as an error, chained ones too, and nothing after it", () => {
    const buffer = new LogBuffer();
    buffer.add([
      chunk(1, "Traceback (most recent call last):\n"),
      chunk(2, '  File "/workspace/main.py", line 3, in <module>\n    boom()\n'),
      chunk(3, "hello from stdout\n", "stdout"), // another stream does not end it
      chunk(4, "ValueError: boom\n\nThe above exception was the direct cause of the following exception:\n\n"),
      chunk(5, "Traceback (most recent call last):\n  File \"x.py\", line 1\nRuntimeError: wrapped\nafter\n"),
    ]);
    expect(levels(buffer)).toEqual([
      ["Traceback (most recent call last):", ERROR],
      ['  File "/workspace/main.py", line 3, in <module>', ERROR],
      ["    boom()", ERROR],
      ["hello from stdout", NONE],
      ["ValueError: boom", ERROR],
      ["", NONE],
      ["The above exception was the direct cause of the following exception:", ERROR],
      ["", NONE],
      ["Traceback (most recent call last):", ERROR],
      ['  File "x.py", line 1', ERROR],
      ["RuntimeError: wrapped", ERROR],
      ["after", NONE],
    ]);
  });

  it("reads a task's printed lines after the task in front of them: its traceback is an error", () => {
    const buffer = new LogBuffer();
    const task = (seq: number, text: string) => chunk(seq, text, "task");
    buffer.add([
      task(1, "[task M000/3] processing 3\n[task M000/3] Traceback (most recent call last):\n"),
      task(2, '[task M000/3]   File "/workspace/flaky.py", line 9, in work\n[task M000/3] ValueError: bad item 3\n'),
      task(3, "[task M000/4] processing 4\n[task M000/4] ERROR: disk full\n[task M000/4] 2026-12-06 [INFO] ok\n"),
    ]);
    expect(levels(buffer)).toEqual([
      ["[task M000/3] processing 3", NONE],
      ["[task M000/3] Traceback (most recent call last):", ERROR],
      ['[task M000/3]   File "/workspace/flaky.py", line 9, in work', ERROR],
      ["[task M000/3] ValueError: bad item 3", ERROR],
      ["[task M000/4] processing 4", NONE],
      ["[task M000/4] ERROR: disk full", ERROR],
      ["[task M000/4] 2026-12-06 [INFO] ok", INFO],
    ]);
  });

  it("classifies a line cut between chunks once it is whole", () => {
    const buffer = new LogBuffer();
    buffer.add([chunk(1, "Traceback (most recent call last):\n  File"), chunk(2, ' "a.py", line 1\nKeyErr')]);
    buffer.add([chunk(3, "or: 'k'\nfine\n")]);
    expect(levels(buffer)).toEqual([
      ["Traceback (most recent call last):", ERROR],
      ['  File "a.py", line 1', ERROR],
      ["KeyError: 'k'", ERROR],
      ["fine", NONE],
    ]);
    const warned = new LogBuffer();
    warned.add([chunk(1, "2026-12-05 19:20:01,123 [WAR"), chunk(2, "NING] late\n")]);
    expect(warned.line(0).level).toBe(WARNING);
  });
});
