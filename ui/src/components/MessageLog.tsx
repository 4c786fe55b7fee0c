// The message log of one class or of all: a virtualized table (TanStack Table for the
// columns, TanStack Virtual for the rows) loading pages as it scrolls; filters kept in the
// URL; a detail panel (`msg=` in the URL too); resend of one, of everything matching the
// filter, and recovery of everything failed since a time.

import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable, type Row } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import type { Job } from "../bindings/Job";
import type { StoredMessage } from "../bindings/StoredMessage";
import { transport } from "../api/transport";
import {
  STATUSES,
  TYPES,
  filtersFromSearch,
  filtersToQuery,
  filtersToSearch,
  localInputToMs,
  toggle,
  type Filters,
} from "../lib/filters";
import { localInputValue, localTime, monthDayTime, rawTime, shortTime } from "../format/time";
import { count, typeLabel } from "../lib/format";
import { ErrorNote, StatusBadge } from "./common";
import { JobProgress } from "./JobProgress";
import { MessageDetailPanel } from "./MessageDetail";
import { BulkActions } from "./BulkActions";
import "./extras.css";
import { useCan } from "../api/session";

// A small first page so that rows show at once; bigger pages after, as the list scrolls.
const FIRST_PAGE = 200;
const NEXT_PAGE = 1000;
const ROW_HEIGHT = 30;

const col = createColumnHelper<StoredMessage>();
/** A time with its date always (across classes, rows of many days sit side by side). */
function dateTimeCell(ms: number | null | undefined) {
  return (
    <span title={`${localTime(ms)} · ${rawTime(ms)}`}>{monthDayTime(ms)}</span>
  );
}
/** Shown only across classes: the class (whole on hover; it shares the free width with
 * the uid), the last error, and dates with the times. */
const classColumn = col.accessor("class_id", { header: "class", size: 0, cell: (c) => <span title={c.getValue()}>{c.getValue()}</span> });
const lastErrorColumn = col.accessor("last_error", {
  header: "last error",
  size: 0,
  cell: (c) => <span title={c.getValue() ?? ""}>{c.getValue() ?? "—"}</span>,
});
const datedColumns = [
  col.accessor("created_at", { header: "created", size: 132, cell: (c) => dateTimeCell(c.getValue()) }),
  col.accessor("sent_at", { header: "sent", size: 132, cell: (c) => dateTimeCell(c.getValue()) }),
];
const baseColumns = [
  col.accessor("id", { header: "id", size: 56 }),
  col.accessor("msg_type", { header: "type", size: 148, cell: (c) => typeLabel(c.getValue()) }),
  col.accessor("uid", { header: "uid", size: 0 }),
  col.accessor("seq", { header: "seq", size: 100 }),
  col.accessor("status", { header: "status", size: 84, cell: (c) => <StatusBadge status={c.getValue()} /> }),
  col.accessor("attempt_count", { header: "tries", size: 48, cell: (c) => String(c.getValue()) }),
  col.accessor("created_at", {
    header: "created",
    size: 124,
    cell: (c) => <span title={`${localTime(c.getValue())} · ${rawTime(c.getValue())}`}>{shortTime(c.getValue())}</span>,
  }),
  col.accessor("sent_at", {
    header: "sent",
    size: 124,
    cell: (c) => <span title={`${localTime(c.getValue())} · ${rawTime(c.getValue())}`}>{shortTime(c.getValue())}</span>,
  }),
  col.accessor("im_msg_seq", { header: "IM seq", size: 64, cell: (c) => c.getValue() ?? "—" }),
];

/**
 * Columns that may narrow to this many pixels: their content still fits, or nearly (a time
 * from today is `20:37:31`; an older one may lose its seconds, kept in the hover).
 */
const SHRINKS_TO: Record<string, number> = { msg_type: 120, seq: 84, status: 76, class_id: 90, created_at: 92, sent_at: 92 };

function FilterBar({ f, onChange, classId }: { f: Filters; onChange: (f: Filters) => void; classId: string | null }) {
  const [uid, setUid] = useState(f.uid);
  const [q, setQ] = useState(f.q);
  const [cls, setCls] = useState(f.class);
  useEffect(() => setUid(f.uid), [f.uid]);
  useEffect(() => setQ(f.q), [f.q]);
  useEffect(() => setCls(f.class), [f.class]);
  // Text fields apply after a short pause, so that typing does not fetch per key.
  useEffect(() => {
    const t = setTimeout(() => {
      if (uid !== f.uid || q !== f.q || cls !== f.class) onChange({ ...f, uid, q, class: cls });
    }, 250);
    return () => clearTimeout(t);
  }, [uid, q, cls]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()} data-testid="filters">
      <fieldset>
        <legend>Status</legend>
        {STATUSES.map((s) => (
          <label key={s} className="chip">
            <input
              type="checkbox"
              name="status"
              value={s}
              checked={f.statuses.includes(s)}
              onChange={() => onChange({ ...f, statuses: toggle(f.statuses, s) })}
            />
            {s}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Type</legend>
        {TYPES.map((t) => (
          <label key={t} className="chip">
            <input
              type="checkbox"
              name="type"
              value={t}
              checked={f.types.includes(t)}
              onChange={() => onChange({ ...f, types: toggle(f.types, t) })}
            />
            {typeLabel(t)}
          </label>
        ))}
      </fieldset>
      {/* The checkbox rows on one line, the fields on the next. */}
      <div className="filters-break" aria-hidden="true" />
      {!classId && (
        <div className="field">
          <label htmlFor="f-class">Class</label>
          <input id="f-class" value={cls} onChange={(e) => setCls(e.target.value)} size={12} maxLength={64} title="A class id: up to 64 characters" />
        </div>
      )}
      <div className="field">
        <label htmlFor="f-uid">uid</label>
        <input id="f-uid" value={uid} onChange={(e) => setUid(e.target.value)} size={12} maxLength={128} title="A uid: up to 128 characters" />
      </div>
      <div className="field">
        <label htmlFor="f-from">Created from</label>
        <input
          id="f-from"
          type="datetime-local"
          value={localInputValue(f.from)}
          onChange={(e) => onChange({ ...f, from: localInputToMs(e.target.value) })}
        />
      </div>
      <div className="field">
        <label htmlFor="f-to">Created before</label>
        <input
          id="f-to"
          type="datetime-local"
          value={localInputValue(f.to)}
          onChange={(e) => onChange({ ...f, to: localInputToMs(e.target.value) })}
        />
      </div>
      <div className="field">
        <label htmlFor="f-retried">Retried</label>
        <select
          id="f-retried"
          value={f.retried === null ? "" : String(f.retried)}
          onChange={(e) => onChange({ ...f, retried: e.target.value === "" ? null : e.target.value === "true" })}
        >
          <option value="">any</option>
          <option value="true">retried</option>
          <option value="false">not retried</option>
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-q">Text in Data</label>
        <input
          id="f-q"
          type="search"
          value={q}
          onChange={(e) => setQ(e.target.value)}
          size={14}
          maxLength={200}
          title="Text in the message's Data: up to 200 characters"
        />
      </div>
    </form>
  );
}

/**
 * A message log, the whole store's or one class's. `readOnly` (an imported class) leaves out
 * the bulk actions: the backend refuses them for such a class anyway.
 */
export function MessageLog({
  classId,
  jobId,
  highlight,
  readOnly = false,
}: {
  classId: string | null;
  /** Only the messages this bulk job took on (no filter bar, no bulk actions). */
  jobId?: number;
  highlight?: ReadonlySet<number>;
  readOnly?: boolean;
}) {
  // Bulk resends and recoveries are an admin's: hidden from other roles (the server refuses them anyway).
  const can = useCan();
  const canBulk = can("bulk_resend") && can("recover");
  const search = useSearch({ strict: false }) as Record<string, string>;
  const navigate = useNavigate();
  const f = useMemo(() => filtersFromSearch(search), [search]);
  const filterKey = JSON.stringify(filtersToSearch(f));
  const selected = search.msg && /^\d+$/.test(search.msg) ? Number(search.msg) : null;
  const qc = useQueryClient();
  const [jobs, setJobs] = useState<Job[]>([]);
  const [running, setRunning] = useState<ReadonlySet<number>>(new Set());
  const jobStarted = useCallback((j: Job) => {
    setJobs((js) => [j, ...js]);
    setRunning((r) => new Set(r).add(j.id));
  }, []);
  const jobFinished = useCallback(
    (id: number) => {
      setRunning((r) => {
        const n = new Set(r);
        n.delete(id);
        return n;
      });
      void qc.invalidateQueries({ queryKey: ["messages"] });
    },
    [qc],
  );

  const setSearch = (next: Record<string, string>) =>
    void navigate({ to: ".", search: next, replace: true } as never);
  const setFilters = (nf: Filters) => setSearch({ ...otherParams(search), ...filtersToSearch(nf), ...(selected ? { msg: String(selected) } : {}) });
  // Stable across renders (rows are memoized on it); reads the latest search from a ref.
  const searchRef = useRef(search);
  searchRef.current = search;
  const select = useCallback(
    (id: number | null) => {
      const { msg: _msg, ...rest } = searchRef.current;
      void navigate({ to: ".", search: id === null ? rest : { ...rest, msg: String(id) }, replace: true } as never);
    },
    [navigate],
  );

  const q = useInfiniteQuery({
    queryKey: jobId === undefined ? ["messages", classId, filterKey] : ["messages", "job", jobId],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => {
      if (jobId !== undefined) {
        return transport().jobMessages(jobId, { cursor: pageParam, limit: pageParam === undefined ? FIRST_PAGE : NEXT_PAGE });
      }
      const query = filtersToQuery(f, classId, pageParam, pageParam === undefined ? FIRST_PAGE : NEXT_PAGE);
      return classId ? transport().classMessages(classId, query) : transport().listMessages(query);
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    // While a job runs the rows change under it: refresh the loaded pages. Otherwise no
    // polling: refetching an infinite list refetches every loaded page.
    // A few loaded rows still on their way (a resend of one) are refreshed slowly.
    refetchInterval: (query) => {
      if (running.size > 0) return 1000;
      const pages = query.state.data?.pages ?? [];
      if (pages.length > 2) return false;
      const moving = pages.some((p) => p.items.some((m) => m.status === "pending" || m.status === "sending"));
      return moving ? 2000 : false;
    },
    placeholderData: (prev) => prev,
  });
  const rows = useMemo(() => q.data?.pages.flatMap((p) => p.items) ?? [], [q.data]);

  const columns = useMemo(
    () =>
      classId
        ? baseColumns
        : [
            baseColumns[0]!,
            classColumn,
            ...baseColumns.slice(1).map((c) => {
              const key = (c as { accessorKey?: string }).accessorKey;
              return datedColumns.find((d) => (d as { accessorKey?: string }).accessorKey === key) ?? c;
            }),
            lastErrorColumn,
          ],
    [classId],
  );
  const table = useReactTable({ data: rows, columns, getCoreRowModel: getCoreRowModel(), getRowId: (m) => String(m.id) });
  const tableRows = table.getRowModel().rows;
  // Fixed widths where the content is known; the uid (size 0) takes the rest. A few give
  // way down to their minimum when the detail panel narrows the table (a 1200 px window).
  const cols = columns
    .map((c) => {
      if (!c.size) return "minmax(110px, 1fr)";
      const min = SHRINKS_TO[(c as { accessorKey?: string }).accessorKey ?? ""];
      return min ? `minmax(${min}px, ${c.size}px)` : `${c.size}px`;
    })
    .join(" ");
  // Below this width the table scrolls sideways inside its frame (an 800 px window): every
  // column stays reachable, and the page itself never widens.
  const minWidth = columns.reduce((sum, c) => {
    if (!c.size) return sum + 110;
    return sum + (SHRINKS_TO[(c as { accessorKey?: string }).accessorKey ?? ""] ?? c.size);
  }, 0);

  return (
    <section aria-label="Message log">
      {jobId === undefined && <FilterBar f={f} onChange={setFilters} classId={classId} />}
      <div className="row spread">
        <span className="hint" data-testid="row-count" aria-live="polite">
          {q.isPending
            ? "Loading messages…"
            : `${count(rows.length)}${q.hasNextPage ? "+" : ""} message${rows.length === 1 ? "" : "s"}${q.hasNextPage ? " (more load as you scroll)" : ""}`}
          {q.isFetching && !q.isPending ? " · refreshing" : ""}
        </span>
        {jobId !== undefined || !canBulk ? null : readOnly ? (
          <span className="hint" data-testid="read-only-log">
            Read-only record: nothing here is resent or recovered.
          </span>
        ) : (
          <BulkActions f={f} classId={classId} onJob={jobStarted} />
        )}
      </div>
      {jobs.map((j) => (
        <JobProgress key={j.id} id={j.id} initial={j} onFinished={jobFinished} />
      ))}
      {q.error && <ErrorNote title="Could not load the messages" error={q.error} onRetry={() => void q.refetch()} />}
      <div className={`log${selected !== null ? " with-detail" : ""}`}>
        <div
          className="vtable"
          role="grid"
          aria-rowcount={rows.length}
          style={{ ["--cols" as string]: cols, ["--table-min" as string]: `${minWidth}px` }}
        >
          {table.getHeaderGroups().map((hg) => (
            <div className="vhead" role="row" key={hg.id}>
              {hg.headers.map((h) => (
                <div role="columnheader" key={h.id}>
                  {flexRender(h.column.columnDef.header, h.getContext())}
                </div>
              ))}
            </div>
          ))}
          <LogBody
            tableRows={tableRows}
            selected={selected}
            highlight={highlight}
            select={select}
            empty={!q.isPending && rows.length === 0}
            emptyText={jobId === undefined ? "No message matches this filter." : "This job took on no message."}
            more={!!q.hasNextPage && !q.isFetchingNextPage}
            fetchMore={q.fetchNextPage}
          />
        </div>
        {selected !== null && <MessageDetailPanel id={selected} onClose={() => select(null)} readOnly={readOnly} />}
      </div>
    </section>
  );
}

/**
 * The scrolling rows: its own component so that scrolling (the virtualizer's state)
 * re-renders only this, not the filters and actions above.
 */
function LogBody({
  tableRows,
  selected,
  highlight,
  select,
  empty,
  emptyText,
  more,
  fetchMore,
}: {
  tableRows: Row<StoredMessage>[];
  selected: number | null;
  highlight?: ReadonlySet<number>;
  select: (id: number | null) => void;
  empty: boolean;
  emptyText: string;
  more: boolean;
  fetchMore: () => Promise<unknown>;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: tableRows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  });
  const items = v.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;
  useEffect(() => {
    if (more && lastIndex >= tableRows.length - 50) void fetchMore();
  }, [lastIndex, tableRows.length, more, fetchMore]);

  function onKey(e: KeyboardEvent<HTMLDivElement>) {
    if (!tableRows.length) return;
    const idx = selected === null ? -1 : tableRows.findIndex((r) => r.original.id === selected);
    let next = idx;
    if (e.key === "ArrowDown" || e.key === "j") next = Math.min(tableRows.length - 1, idx + 1);
    else if (e.key === "ArrowUp" || e.key === "k") next = Math.max(0, idx - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = tableRows.length - 1;
    else if (e.key === "Escape") {
      select(null);
      return;
    } else return;
    e.preventDefault();
    const r = tableRows[next];
    if (r) select(r.original.id);
    v.scrollToIndex(next, { align: "auto" });
  }

  return (
    <div
      className="vbody"
      ref={scrollRef}
      tabIndex={0}
      onKeyDown={onKey}
      aria-label="Messages: arrow keys move, Escape closes the detail"
      data-testid="message-rows"
    >
      {empty && <p className="empty" style={{ padding: 12 }}>{emptyText}</p>}
      <div style={{ height: v.getTotalSize(), position: "relative" }}>
        {items.map((vi) => {
          const row = tableRows[vi.index];
          if (!row) return null;
          const m = row.original;
          return (
            <LogRow
              key={row.id}
              row={row}
              index={vi.index}
              top={vi.start}
              selected={m.id === selected}
              highlighted={!!highlight?.has(m.id)}
              onSelect={select}
            />
          );
        })}
      </div>
    </div>
  );
}

/** One row; memoized so that scrolling re-renders only rows that enter the view. */
const LogRow = memo(function LogRow({
  row,
  index,
  top,
  selected,
  highlighted,
  onSelect,
}: {
  row: Row<StoredMessage>;
  index: number;
  top: number;
  selected: boolean;
  highlighted: boolean;
  onSelect: (id: number) => void;
}) {
  const m = row.original;
  return (
    <div
      role="row"
      aria-rowindex={index + 1}
      aria-selected={selected}
      className={`vrow${highlighted ? " highlight" : ""}`}
      data-testid="message-row"
      data-id={m.id}
      data-status={m.status}
      style={{ transform: `translateY(${top}px)`, height: ROW_HEIGHT }}
      onClick={() => onSelect(m.id)}
    >
      {row.getVisibleCells().map((cell) => (
        <div role="gridcell" key={cell.id}>
          {flexRender(cell.column.columnDef.cell, cell.getContext())}
        </div>
      ))}
    </div>
  );
});

/** Search params that are not the filter's (e.g. a view's own), kept when the filter changes. */
function otherParams(search: Record<string, string>): Record<string, string> {
  const mine = new Set(["status", "type", "uid", "from", "to", "retried", "q", "class", "msg"]);
  return Object.fromEntries(Object.entries(search).filter(([k]) => !mine.has(k)));
}
