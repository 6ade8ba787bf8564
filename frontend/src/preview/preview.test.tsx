import { QueryClientProvider } from "@tanstack/react-query";
import { createQueryClient } from "../api/queries";
import type { TablePreview } from "../api/types";
import { render, settle } from "../testing/render";
import { FilePreview } from "./FilePreview";
import { PreviewTable, rowsCaption, TablePreviewView } from "./PreviewTable";
import { chooseView, looksLikeText, mimeOf, viewByName } from "./sniff";

const bytes = (...values: (number | string)[]) =>
  new Uint8Array(values.flatMap((v) => (typeof v === "string" ? [...new TextEncoder().encode(v)] : [v])));
const PNG = bytes(0x89, "PNG\r\n", 0x1a, "\n", 0, 0, 0, 13, "IHDR");

describe("choosing a viewer", () => {
  it("goes by the extension first", () => {
    expect(viewByName("results/montecarlo.png")).toBe("image");
    expect(viewByName("a/B.JPEG")).toBe("image");
    expect(viewByName("logo.svg")).toBe("image");
    expect(viewByName("out/summary.csv")).toBe("table");
    expect(viewByName("x.tsv")).toBe("table");
    expect(viewByName("scores.parquet")).toBe("table");
    expect(viewByName("report.html")).toBe("html");
    expect(viewByName("paper.pdf")).toBe("pdf");
    expect(viewByName("main.py")).toBeNull();
    expect(viewByName(".png")).toBeNull(); // a hidden file named .png, not a PNG
    // The extension wins over the bytes: a .png is shown as one even if it starts like text.
    expect(chooseView("plot.png", bytes("hello"))).toBe("image");
  });

  it("then by the content: signatures, NUL bytes, invalid UTF-8", () => {
    expect(chooseView("results/plot", PNG)).toBe("image");
    expect(chooseView("scan", bytes(0xff, 0xd8, 0xff, 0xe0))).toBe("image");
    expect(chooseView("doc", bytes("%PDF-1.7\n"))).toBe("pdf");
    expect(chooseView("model.bin", bytes("abc", 0, "def"))).toBe("binary");
    expect(chooseView("latin1.txt", bytes("caf", 0xe9, " au lait"))).toBe("binary");
    expect(chooseView("main.py", bytes("print('héllo ✓')\n"))).toBe("text");
    expect(chooseView("empty.txt", bytes())).toBe("text");
    // Parquet without its extension: the server previews by extension only, so it is a binary file here.
    expect(chooseView("data", bytes("PAR1", 0x15, 0, 0x15))).toBe("binary");
  });

  it("accepts a character cut by the end of the sample", () => {
    const check = new TextEncoder().encode("ok ✓"); // ✓ is three bytes
    expect(looksLikeText(check.subarray(0, check.length - 1))).toBe(true);
    expect(looksLikeText(bytes("ok ", 0xe2, 0x41))).toBe(false); // a broken sequence in the middle is not
  });

  it("shows images with their type, by extension or signature", () => {
    expect(mimeOf("a.svg", bytes("<svg"))).toBe("image/svg+xml");
    expect(mimeOf("plot", PNG)).toBe("image/png");
    expect(mimeOf("x.pdf", bytes())).toBe("application/pdf");
  });
});

const TABLE: TablePreview = {
  format: "parquet",
  columns: [
    { name: "id", type: "int64" },
    { name: "label", type: "string" },
  ],
  rows: [
    [1, "one"],
    [2, null],
  ],
  total_rows: 52311,
  truncated: true,
};

describe("the table preview", () => {
  it("says how many rows it shows of how many", () => {
    const thousand = Array.from({ length: 1000 }, () => [1]);
    expect(rowsCaption({ rows: thousand, total_rows: 52311, truncated: true })).toBe("first 1,000 of 52,311 rows");
    expect(rowsCaption({ rows: [[1], [2], [3]], total_rows: 3, truncated: false })).toBe("3 rows");
    expect(rowsCaption({ rows: [[1]], total_rows: 1, truncated: false })).toBe("1 row");
    expect(rowsCaption({ rows: thousand, total_rows: null, truncated: true })).toBe("first 1,000 rows (more not counted)");
  });

  it("has a header row with each column's name and type, then the rows", async () => {
    const { container, unmount } = await render(<PreviewTable table={TABLE} />);
    const headers = [...container.querySelectorAll("thead th")].map((th) => th.textContent);
    expect(headers).toEqual(["id int64", "label string"]);
    const cells = [...container.querySelectorAll("tbody tr")].map((tr) =>
      [...tr.querySelectorAll("td")].map((td) => td.textContent),
    );
    expect(cells).toEqual([
      ["1", "one"],
      ["2", "null"],
    ]);
    expect(container.textContent).toContain("first 2 of 52,311 rows");
    unmount();
  });

  it("reads the server's preview of the file", async () => {
    const calls: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        calls.push(url);
        return new Response(JSON.stringify(TABLE), { status: 200 });
      }),
    );
    const { container, unmount } = await render(
      <QueryClientProvider client={createQueryClient()}>
        <TablePreviewView workspaceId={7} path="results/my scores.parquet" />
      </QueryClientProvider>,
    );
    await settle();
    expect(calls).toEqual(["/api/v1/workspaces/7/preview/results/my%20scores.parquet?rows=1000"]);
    expect(container.querySelector("table")?.getAttribute("aria-label")).toBe("Table preview");
    expect(container.querySelectorAll("tbody tr")).toHaveLength(2);
    unmount();
    vi.unstubAllGlobals();
  });
});

describe("previews of files", () => {
  beforeEach(() => {
    let made = 0;
    URL.createObjectURL = vi.fn(() => `blob:test/${++made}`);
    URL.revokeObjectURL = vi.fn();
  });

  it("shows a binary file as its size and a download link, never as text", async () => {
    const blob = new Blob([new Uint8Array(1234)]);
    const { container, unmount } = await render(
      <FilePreview workspaceId={3} file={{ path: "data/model.bin", view: "binary", blob }} onOpenAsText={() => {}} />,
    );
    expect(container.textContent).toContain("Binary file, 1,234 bytes");
    const links = [...container.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href"))).toContain("/api/v1/workspaces/3/files/data/model.bin");
    expect(links.every((a) => a.getAttribute("download") === "model.bin")).toBe(true);
    expect(container.querySelector("button")).toBeNull(); // no "Open as text" for a binary file
    expect(container.querySelector("textarea, [contenteditable]")).toBeNull();
    unmount();
  });

  it("shows an image (SVG too) as an <img> of an object URL, never inlined", async () => {
    const svg = new Blob(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>']);
    const { container, unmount } = await render(
      <FilePreview workspaceId={3} file={{ path: "logo.svg", view: "image", blob: svg, mime: "image/svg+xml" }} onOpenAsText={() => {}} />,
    );
    await settle();
    expect(container.querySelector("img")?.getAttribute("src")).toBe("blob:test/1");
    expect(container.querySelector("svg, script")).toBeNull();
    expect(URL.createObjectURL).toHaveBeenCalledWith(expect.objectContaining({ type: "image/svg+xml" }));
    expect(container.querySelector("button")?.textContent).toBe("Open as text");
    unmount();
    expect(URL.revokeObjectURL).toHaveBeenCalledWith("blob:test/1");
  });

  it("shows HTML in an iframe with an empty sandbox and a CSP that loads nothing", async () => {
    // A blob as fetch makes it (jsdom's own Blob has no text()).
    const html = await new Response("<h1>Report</h1><script>parent.document.title='pwned'</script>").blob();
    const opened: string[] = [];
    const { container, unmount } = await render(
      <FilePreview workspaceId={3} file={{ path: "out/report.html", view: "html", blob: html }} onOpenAsText={(p) => opened.push(p)} />,
    );
    await settle();
    const frame = container.querySelector("iframe");
    expect(frame?.getAttribute("sandbox")).toBe("");
    expect(frame?.getAttribute("src")).toBeNull();
    const doc = frame?.getAttribute("srcdoc") ?? "";
    expect(doc.startsWith(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`)).toBe(true);
    expect(doc).toContain("<h1>Report</h1>");
    (container.querySelector("button") as HTMLButtonElement).click();
    expect(opened).toEqual(["out/report.html"]);
    unmount();
  });

  it("shows a PDF as an <object> of an object URL", async () => {
    const pdf = new Blob(["%PDF-1.4"]);
    const { container, unmount } = await render(
      <FilePreview workspaceId={3} file={{ path: "paper.pdf", view: "pdf", blob: pdf }} />,
    );
    await settle();
    const object = container.querySelector("object");
    expect([object?.getAttribute("type"), object?.getAttribute("data")]).toEqual(["application/pdf", "blob:test/1"]);
    unmount();
  });
});
