import type { Entry } from "../../api/types";
import { perform, renderHook, settle } from "../../testing/render";
import { entrypointsOf, useEntrypoint } from "./useEntrypoint";
import { isUnder, movedPath } from "./useOpenTabs";

const file = (path: string) => ({ path, type: "file" }) as Entry;

describe("useEntrypoint", () => {
  it("offers the Python files outside dot-folders", () => {
    const entries = [file("a.py"), file(".pyrun/setup.py"), file("data.csv"), { path: "pkg", type: "dir" } as Entry, file("pkg/b.py")];
    expect(entrypointsOf(entries)).toEqual(["a.py", "pkg/b.py"]);
  });

  it("picks main.py over other files and opens it once", async () => {
    const open = vi.fn();
    let entries = [file("util.py"), file("main.py")];
    const hook = await renderHook(() => useEntrypoint(entries, open));
    await settle();
    expect(hook.current().entrypoint).toBe("main.py");
    expect(open).toHaveBeenCalledWith("main.py");

    entries = [...entries, file("example.py")];
    await perform(() => hook.current().setEntrypoint("util.py"));
    expect(hook.current().entrypoint).toBe("util.py");
    expect(open).toHaveBeenCalledTimes(1);
    hook.unmount();
  });
});

describe("paths after a move in the tree", () => {
  it("follows a moved file or the contents of a moved folder", () => {
    expect(movedPath("src/a.py", "src/a.py", "b.py")).toBe("b.py");
    expect(movedPath("src/a.py", "src", "lib")).toBe("lib/a.py");
    expect(movedPath("srcs/a.py", "src", "lib")).toBe("srcs/a.py");
    expect(isUnder("src/a.py", "src")).toBe(true);
    expect(isUnder("srcs/a.py", "src")).toBe(false);
  });
});
