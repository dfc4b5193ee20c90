// Tables: <th scope=col>, a caption, sortable columns with aria-sort (portal.md §4.3), and a focusable scroll region
// so narrow screens scroll the table, not the page.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export interface Column<T> {
  key: string;
  label: string;
  render?: (row: T) => ComponentChildren;
  /** Present = the column is sortable by this value. */
  sortValue?: (row: T) => string | number;
  /** Row header (th scope=row) instead of a plain cell. */
  rowHeader?: boolean;
}

export interface DataTableProps<T> {
  columns: Column<T>[];
  rows: T[];
  caption: string;
  rowKey?: (row: T, i: number) => string;
  empty?: ComponentChildren;
  /** Initial sort column key and direction. */
  sort?: { key: string; dir: "ascending" | "descending" };
  /** Visually hide the caption (it still names the table and its scroll region). */
  hideCaption?: boolean;
}

export function DataTable<T>({ columns, rows, caption, rowKey, empty, sort: initial, hideCaption }: DataTableProps<T>) {
  const [sort, setSort] = useState(initial);
  const col = sort && columns.find((c) => c.key === sort.key);
  const sorted = col?.sortValue
    ? [...rows].sort((a, b) => {
        const x = col.sortValue!(a);
        const y = col.sortValue!(b);
        const r = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "en", { numeric: true });
        return sort!.dir === "ascending" ? r : -r;
      })
    : rows;
  const cell = (c: Column<T>, row: T) => (c.render ? c.render(row) : String((row as Record<string, unknown>)[c.key] ?? ""));
  return (
    <div class="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption class={hideCaption ? "sr-only" : undefined}>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => {
              const dir = sort?.key === c.key ? sort.dir : undefined;
              return (
                <th scope="col" key={c.key} {...(c.sortValue ? { "aria-sort": dir ?? "none" } : {})}>
                  {c.sortValue ? (
                    <button
                      type="button"
                      class="sort"
                      onClick={() => setSort({ key: c.key, dir: dir === "ascending" ? "descending" : "ascending" })}
                    >
                      {c.label}
                      <span aria-hidden="true" class="sort-icon">
                        {dir === "ascending" ? "▲" : dir === "descending" ? "▼" : "↕"}
                      </span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 ? (
            <tr>
              <td colSpan={columns.length} class="empty">
                {empty ?? "No items to display."}
              </td>
            </tr>
          ) : (
            sorted.map((row, i) => (
              <tr key={rowKey ? rowKey(row, i) : String(i)}>
                {columns.map((c) => (c.rowHeader ? <th scope="row" key={c.key}>{cell(c, row)}</th> : <td key={c.key}>{cell(c, row)}</td>))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
