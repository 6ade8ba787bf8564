import { render } from "../testing/render";
import { BuildSteps, runtimeFacts } from "./RuntimePanel";

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

describe("BuildSteps", () => {
  const steps = async (phase: string, state: "building" | "failed" | "ready") => {
    const view = await render(<BuildSteps phase={phase} state={state} />);
    const items = Array.from(view.container.querySelectorAll("li"), (li) => li.textContent);
    view.unmount();
    return items;
  };

  it("marks the steps behind, the current one, and the step a failed build stopped at", async () => {
    expect(await steps("install", "building")).toEqual(["✓ resolve", "✓ download", "install", "compile", "publish", "done"]);
    expect(await steps("install", "failed")).toEqual(["✓ resolve", "✓ download", "✗ install", "compile", "publish", "done"]);
    expect(await steps("done", "ready")).toEqual(["✓ resolve", "✓ download", "✓ install", "✓ compile", "✓ publish", "✓ done"]);
  });

  it("shows nothing before a build reached a step", async () => {
    expect(await steps("", "building")).toEqual([]);
  });
});
