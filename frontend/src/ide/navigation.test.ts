import { describe, expect, it } from "vitest";
import { frameLink, fuzzyFilter, lastTracebackProblems, workspacePath } from "./navigation";

describe("fuzzyFilter (Ctrl+P)", () => {
  const paths = ["main.py", "src/models/train.py", "src/utils.py", "README.md", "data/train.csv", "tests/test_main.py"];

  it("keeps the paths holding the typed characters in order, whatever their case", () => {
    expect(fuzzyFilter(paths, "TRN")).toEqual(expect.arrayContaining(["src/models/train.py", "data/train.csv"]));
    expect(fuzzyFilter(paths, "trn")).not.toContain("main.py");
    expect(fuzzyFilter(paths, "zzz")).toEqual([]);
  });

  it("ranks a match in the file name above one spread over folders, and an empty query lists everything", () => {
    expect(fuzzyFilter(paths, "main")[0]).toBe("main.py");
    expect(fuzzyFilter(paths, "utils")[0]).toBe("src/utils.py");
    expect(fuzzyFilter(paths, "")).toHaveLength(paths.length);
  });

  it("stops at the limit", () => {
    const many = Array.from({ length: 500 }, (_, i) => `f${i}.py`);
    expect(fuzzyFilter(many, "f", 50)).toHaveLength(50);
  });
});

describe("traceback lines", () => {
  const known = new Set(["main.py", "src/lib.py"]);

  it("map the sandbox's /workspace/ paths to workspace files and ignore the interpreter's", () => {
    expect(workspacePath("/workspace/src/lib.py")).toBe("src/lib.py");
    expect(workspacePath("/workspace/src/lib.py", known)).toBe("src/lib.py");
    expect(workspacePath("/workspace/gone.py", known)).toBeNull();
    expect(workspacePath("/usr/lib/python3.12/json/__init__.py", known)).toBeNull();
    expect(workspacePath("<frozen runpy>", known)).toBeNull();
    expect(workspacePath("/workspace/../etc/passwd")).toBeNull();
    expect(workspacePath("main.py", known)).toBe("main.py");
    expect(workspacePath("main.py")).toBeNull(); // a relative name counts only when the tree knows it
  });

  it("give a link over the quoted file name and line number of a frame", () => {
    const text = '  File "/workspace/main.py", line 12, in <module>';
    const link = frameLink(text, known)!;
    expect({ path: link.path, line: link.line }).toEqual({ path: "main.py", line: 12 });
    expect(text.slice(link.start, link.end)).toBe('"/workspace/main.py", line 12');
    expect(frameLink('  File "/usr/lib/python3.12/runpy.py", line 88, in _run_code', known)).toBeNull();
    expect(frameLink("print('File \"/workspace/main.py\", line 1')", known)).toBeNull();
    // A Lithops task's traceback, copied into the Output with its task's prefix.
    expect(frameLink('[task M000/3]   File "/workspace/src/lib.py", line 4, in run', known)).toMatchObject({
      path: "src/lib.py",
      line: 4,
    });
  });

  it("turn the last traceback into problems: its workspace frames with the exception line", () => {
    const lines = [
      "Traceback (most recent call last):",
      '  File "/workspace/main.py", line 3, in <module>',
      "ValueError: an old one",
      "starting again",
      "Traceback (most recent call last):",
      '  File "/workspace/main.py", line 12, in <module>',
      "    run()",
      '  File "/workspace/src/lib.py", line 4, in run',
      "    raise KeyError('x')",
      "    ^^^^^^^^^^^^^^^^^^^",
      '  File "/usr/lib/python3.12/x.py", line 9, in y',
      "KeyError: 'x'",
      "done",
    ];
    expect(lastTracebackProblems(lines, known)).toEqual([
      { path: "main.py", line: 12, message: "KeyError: 'x'" },
      { path: "src/lib.py", line: 4, message: "KeyError: 'x'" },
    ]);
    expect(lastTracebackProblems(["all good"], known)).toEqual([]);
  });
});
