// A table preview: the columns (with their types) as the header row, the first rows, and how many rows there are.
import { useQuery } from "@tanstack/react-query";
import { queries } from "../api/queries";
import type { TablePreview } from "../api/types";
import { DataTable, ErrorBanner, type Column } from "../components";

/** Rows asked of the server (its cap). */
export const PREVIEW_ROWS = 1000;

const count = (n: number) => n.toLocaleString("en-US");
const rows = (n: number) => `${count(n)} ${n === 1 ? "row" : "rows"}`;

/** "first 1,000 of 52,311 rows", "3 rows", or for a file too large to count "first 1,000 rows (more not counted)". */
export function rowsCaption(table: Pick<TablePreview, "rows" | "total_rows" | "truncated">): string {
  const shown = table.rows.length;
  if (table.total_rows === null) return `first ${rows(shown)} (more not counted)`;
  if (table.total_rows > shown) return `first ${count(shown)} of ${rows(table.total_rows)}`;
  return rows(table.total_rows);
}

type Row = { index: number; cells: TablePreview["rows"][number] };

export function PreviewTable({ table }: { table: TablePreview }) {
  const columns: Column<Row>[] = table.columns.map((column, i) => ({
    header: (
      <>
        {column.name} <span className="muted column-type">{column.type}</span>
      </>
    ),
    cell: (row) => {
      const value = row.cells[i];
      return value === null || value === undefined ? <span className="muted">null</span> : String(value);
    },
  }));
  return (
    <div className="table-preview">
      <p className="muted" data-testid="rows-caption">
        {rowsCaption(table)}
        {table.columns.length === 0 && " (no columns)"}
      </p>
      <DataTable
        columns={columns}
        rows={table.rows.map((cells, index) => ({ index, cells }))}
        rowKey={(row) => row.index}
        aria-label="Table preview"
      />
    </div>
  );
}

/** The server's preview of a CSV, TSV or Parquet file, as a table. */
export function TablePreviewView({ workspaceId, path }: { workspaceId: number; path: string }) {
  const { data, error, isPending } = useQuery(queries.preview(workspaceId, path, PREVIEW_ROWS));
  if (error) return <ErrorBanner error={error} style={{ padding: 12 }} />;
  if (isPending) return <p className="empty">Reading {path}…</p>;
  return <PreviewTable table={data} />;
}
