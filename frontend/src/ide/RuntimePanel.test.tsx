import { runtimeFacts } from "./RuntimePanel";

describe("runtimeFacts", () => {
  it("lists what a ready runtime is", () => {
    expect(runtimeFacts({ kind: "conda", builder: "uv", python_version: "3.11.7", size_bytes: 2 * 1024 ** 2 })).toEqual([
      "conda",
      "uv",
      "Python 3.11.7",
      "2.0 MB",
    ]);
  });

  it("leaves out what a runtime that failed early never got (no blank separators)", () => {
    expect(runtimeFacts({ kind: "conda", builder: "", python_version: null, size_bytes: 0 })).toEqual(["conda"]);
  });
});
