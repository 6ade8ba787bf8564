import { perform, renderHook } from "../../testing/render";
import { isText } from "../EditorTabs";
import { useOpenTabs } from "./useOpenTabs";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

// The files API of one workspace: each path's bytes; the preview endpoint is never read by the hook.
function server(files: Record<string, BodyInit>) {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      calls.push(url);
      const path = decodeURIComponent(url.replace(/^\/api\/v1\/workspaces\/5\/files\//, ""));
      if (!(path in files)) return new Response(JSON.stringify({ error: { id: "x", message: "missing" } }), { status: 404 });
      return new Response(files[path], { status: 200, headers: { ETag: `"${path}"` } });
    }),
  );
  return calls;
}

describe("opening a file", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("keeps text in the editor and gives everything else a read-only view", async () => {
    const calls = server({
      "main.py": "print('hi')\n",
      "results/montecarlo.png": PNG,
      "results/plot": PNG,
      "model.bin": new Uint8Array([1, 2, 0, 3]),
      "report.html": "<h1>hi</h1>",
    });
    const hook = await renderHook(() =>
      useOpenTabs(5, { notify: () => {}, ask: async () => null, onSaved: () => {} }),
    );
    for (const path of ["main.py", "results/montecarlo.png", "results/plot", "model.bin", "report.html", "out/t.csv"]) {
      await perform(() => hook.current().openFile(path));
    }
    const views = Object.fromEntries(hook.current().tabs.map((t) => [t.path, [t.view, t.loaded]]));
    expect(views).toEqual({
      "main.py": ["text", true],
      "results/montecarlo.png": ["image", true],
      "results/plot": ["image", true],
      "model.bin": ["binary", true],
      "report.html": ["html", true],
      "out/t.csv": ["table", true],
    });
    const tab = (path: string) => hook.current().tabs.find((t) => t.path === path)!;
    expect(tab("main.py").text).toBe("print('hi')\n");
    expect(tab("results/plot").mime).toBe("image/png");
    expect(tab("model.bin").blob?.size).toBe(4);
    // A table is read through the preview endpoint when shown, not downloaded whole here.
    expect(calls.some((url) => url.includes("t.csv"))).toBe(false);
    // Previews are never saved: saving one is a no-op that succeeds.
    expect(await hook.current().save("model.bin")).toBe(true);
    expect(calls.filter((url) => url.includes("model.bin"))).toHaveLength(1);

    // "Open as text" moves an HTML file into the editor.
    await perform(() => hook.current().openAsText("report.html"));
    expect(isText(tab("report.html"))).toBe(true);
    expect(tab("report.html").text).toBe("<h1>hi</h1>");
    hook.unmount();
  });
});
