// One table markup for the lists of the app (workspaces, runs, members, invitations, tokens): a header row, one
// row an item, an optional text while the rows load and when there are none.
import type { HTMLAttributes, ReactNode, TdHTMLAttributes } from "react";

export interface Column<T> {
  /** The header cell; `ACTIONS` for the buttons column, named for screen readers only. */
  header: ReactNode;
  cell: (row: T) => ReactNode;
  className?: string | ((row: T) => string);
  tdProps?: TdHTMLAttributes<HTMLTableCellElement>;
}

/** The header of a column of buttons: visible to screen readers only. */
export const ACTIONS = <span className="sr-only">Actions</span>;

export interface DataTableProps<T> extends Omit<HTMLAttributes<HTMLTableElement>, "children"> {
  columns: Column<T>[];
  /** `undefined` while loading. */
  rows: readonly T[] | undefined;
  rowKey: (row: T) => string | number;
  /** Shown instead of the table while `rows` is undefined; without it the table shows no rows meanwhile. */
  loading?: ReactNode;
  /** Shown instead of the table when there are no rows; without it the table stays, empty. */
  empty?: ReactNode;
  rowProps?: (row: T) => HTMLAttributes<HTMLTableRowElement> & Record<`data-${string}`, unknown>;
  "data-testid"?: string;
}

export function DataTable<T>({ columns, rows, rowKey, loading, empty, rowProps, ...table }: DataTableProps<T>) {
  if (rows === undefined && loading !== undefined) return <p className="muted">{loading}</p>;
  if (rows !== undefined && rows.length === 0 && empty !== undefined) return <p className="muted">{empty}</p>;
  return (
    <table {...table}>
      <thead>
        <tr>
          {columns.map((column, index) => (
            <th key={index}>{column.header}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {(rows ?? []).map((row) => (
          <tr key={rowKey(row)} {...rowProps?.(row)}>
            {columns.map((column, index) => (
              <td
                key={index}
                className={typeof column.className === "function" ? column.className(row) : column.className}
                {...column.tdProps}
              >
                {column.cell(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
