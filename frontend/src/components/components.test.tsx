import { ConfirmButton, DataTable, ErrorBanner, FormRow, type Column } from ".";
import { click, render } from "../testing/render";

interface Row {
  id: number;
  name: string;
  state: string;
}

const columns: Column<Row>[] = [
  { header: "Name", cell: (r) => r.name },
  { header: "State", cell: (r) => r.state, className: (r) => `state state-${r.state}` },
];
const rows: Row[] = [
  { id: 1, name: "first", state: "running" },
  { id: 2, name: "second", state: "failed" },
];

const texts = (nodes: NodeListOf<Element>) => Array.from(nodes, (n) => n.textContent);

afterEach(() => {
  document.body.innerHTML = "";
  vi.restoreAllMocks();
});

describe("DataTable", () => {
  it("shows a header row and one row an item, with the table's own attributes", async () => {
    const rowKey = (r: Row) => r.id;
    const rowProps = (r: Row) => ({ "data-id": r.id });
    const { container } = await render(
      <DataTable aria-label="Things" data-testid="things" {...{ columns, rows, rowKey, rowProps }} />,
    );
    const table = container.querySelector("table")!;
    expect(table.getAttribute("aria-label")).toBe("Things");
    expect(table.dataset.testid).toBe("things");
    expect(texts(table.querySelectorAll("th"))).toEqual(["Name", "State"]);
    expect(texts(table.querySelectorAll("tbody tr td:first-child"))).toEqual(["first", "second"]);
    expect(table.querySelector('tr[data-id="2"] td:nth-child(2)')!.className).toBe("state state-failed");
  });

  it("says it is loading until the rows come, and when there are none", async () => {
    const props = { columns, rowKey: (r: Row) => r.id, loading: "Loading…", empty: "Nothing yet." };
    const view = await render(<DataTable {...props} rows={undefined} />);
    expect(view.container.textContent).toBe("Loading…");
    expect(view.container.querySelector("table")).toBeNull();
    await view.rerender(<DataTable {...props} rows={[]} />);
    expect(view.container.textContent).toBe("Nothing yet.");
    await view.rerender(<DataTable {...props} rows={rows} />);
    expect(view.container.querySelectorAll("tbody tr")).toHaveLength(2);
  });

  it("keeps an empty table when no loading or empty text is given", async () => {
    const { container } = await render(<DataTable columns={columns} rows={undefined} rowKey={(r) => r.id} />);
    expect(texts(container.querySelectorAll("th"))).toEqual(["Name", "State"]);
    expect(container.querySelectorAll("tbody tr")).toHaveLength(0);
  });
});

describe("ErrorBanner", () => {
  it("shows nothing without an error", async () => {
    const { container } = await render(<ErrorBanner error={null} />);
    expect(container.innerHTML).toBe("");
  });

  it("announces the message of an error or a text", async () => {
    const view = await render(<ErrorBanner error={new Error("Quota exceeded")} />);
    const alert = view.container.querySelector('[role="alert"]')!;
    expect(alert.textContent).toBe("Quota exceeded");
    expect(alert.className).toBe("error");
    await view.rerender(<ErrorBanner error="name: This field is required." />);
    expect(view.container.querySelector('[role="alert"]')!.textContent).toBe("name: This field is required.");
  });
});

describe("ConfirmButton", () => {
  it("acts only when the user confirms", async () => {
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(false);
    const action = vi.fn();
    const { container } = await render(
      <ConfirmButton confirm="Delete it?" onConfirm={action} aria-label="Delete it">
        Delete
      </ConfirmButton>,
    );
    const button = container.querySelector("button")!;
    expect(button.className).toBe("danger");
    expect(button.getAttribute("aria-label")).toBe("Delete it");
    await click(button);
    expect(confirm).toHaveBeenCalledWith("Delete it?");
    expect(action).not.toHaveBeenCalled();
    confirm.mockReturnValue(true);
    await click(button);
    expect(action).toHaveBeenCalledTimes(1);
  });
});

describe("FormRow", () => {
  it("labels its control and shows the help text", async () => {
    const { container } = await render(
      <div className="form-grid">
        <FormRow id="cfg-workers" label="Workers" help="Empty: the backend's default.">
          <input id="cfg-workers" />
        </FormRow>
      </div>,
    );
    const label = container.querySelector("label")!;
    expect(label.textContent).toBe("Workers");
    expect(label.htmlFor).toBe("cfg-workers");
    expect(container.querySelector("#cfg-workers")!.tagName).toBe("INPUT");
    expect(container.querySelector(".help")!.textContent).toBe("Empty: the backend's default.");
  });

  it("has no help line without help", async () => {
    const { container } = await render(
      <FormRow id="x" label="X">
        <input id="x" />
      </FormRow>,
    );
    expect(container.querySelector(".help")).toBeNull();
  });
});
