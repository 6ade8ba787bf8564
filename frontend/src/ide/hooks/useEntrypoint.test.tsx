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
    const hook = await renderHook(() => useEntrypoint(1, entries, open));
    await settle();
    expect(hook.current().entrypoint).toBe("main.py");
    expect(open).toHaveBeenCalledWith("main.py");

    entries = [...entries, file("example.py")];
    await perform(() => hook.current().setEntrypoint("util.py"));
    expect(hook.current().entrypoint).toBe("util.py");
    expect(open).toHaveBeenCalledTimes(1);
    hook.unmount();
  });

  it("remembers the choice per workspace, and a deleted choice gives way to the default in menu and Run", async () => {
    localStorage.clear();
    let entries = [file("main.py"), file("ghost.py")];
    const first = await renderHook(() => useEntrypoint(2, entries, vi.fn()));
    await perform(() => first.current().setEntrypoint("ghost.py"));
    first.unmount();

    const reloaded = await renderHook(() => useEntrypoint(2, entries, vi.fn()));
    expect(reloaded.current().entrypoint).toBe("ghost.py"); // the next visit
    entries = [file("main.py")]; // ghost.py deleted; the stored choice still names it
    await perform(() => reloaded.current().setEntrypoint("")); // re-renders with the new tree...
    await perform(() => reloaded.current().setEntrypoint("ghost.py")); // ...and the stale choice
    expect(reloaded.current().entrypoints).toEqual(["main.py"]);
    expect(reloaded.current().entrypoint).toBe("main.py"); // what the menu shows is what Run sends
    reloaded.unmount();

    const other = await renderHook(() => useEntrypoint(3, [file("main.py"), file("ghost.py")], vi.fn()));
    expect(other.current().entrypoint).toBe("main.py"); // another workspace keeps its own choice
    other.unmount();
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
