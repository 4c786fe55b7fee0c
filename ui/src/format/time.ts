// Every date, time and duration the console shows, through the platform's Intl formatters:
// the one place that decides how a time reads. Dates are year-month-day and clocks 24-hour
// with leading zeros whatever the browser's locale (an admin compares them with logs and
// with other people's screens), so the fields come from Intl in a fixed locale and are put
// in that order here; words ("ago", units) are English like the rest of the console.

const LOCALE = "en";

const DATE_TIME = new Intl.DateTimeFormat(LOCALE, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hourCycle: "h23",
});

const UTC_DATE_TIME = new Intl.DateTimeFormat(LOCALE, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  fractionalSecondDigits: 3,
  hourCycle: "h23",
  timeZone: "UTC",
});

const TWO_DIGITS = new Intl.NumberFormat(LOCALE, { minimumIntegerDigits: 2, useGrouping: false });
const WHOLE = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0, useGrouping: false });
const TENTHS = new Intl.NumberFormat(LOCALE, {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
  useGrouping: false,
});
const RELATIVE = new Intl.RelativeTimeFormat(LOCALE, { numeric: "always", style: "long" });

type Fields = { year: string; month: string; day: string; hour: string; minute: string; second: string; ms: string };

function fields(format: Intl.DateTimeFormat, ms: number): Fields {
  const f: Fields = { year: "", month: "", day: "", hour: "", minute: "", second: "", ms: "" };
  for (const p of format.formatToParts(ms)) {
    if (p.type === "fractionalSecond") f.ms = p.value;
    else if (p.type in f) f[p.type as keyof Fields] = p.value;
  }
  return f;
}

function missing(ms: number | null | undefined): ms is null | undefined {
  return ms === null || ms === undefined || !Number.isFinite(ms);
}

/** Unix ms as local date and time, `2026-11-24 18:03:07.120`; "—" for none. */
export function localTime(ms: number | null | undefined): string {
  if (missing(ms)) return "—";
  const f = fields(DATE_TIME, ms);
  return `${f.year}-${f.month}-${f.day} ${f.hour}:${f.minute}:${f.second}.${f.ms}`;
}

/**
 * Unix ms as local month, day and time to the second, `11-24 18:03:07`, for table cells
 * of the log across classes (its rows span days); "—" for none.
 */
export function monthDayTime(ms: number | null | undefined): string {
  if (missing(ms)) return "—";
  const f = fields(DATE_TIME, ms);
  return `${f.month}-${f.day} ${f.hour}:${f.minute}:${f.second}`;
}

/**
 * Unix ms as a short local time for table cells: `18:03:07` today (a live class's rows
 * fit a narrow column), `11-24 18:03:07` on other days; "—" for none.
 */
export function shortTime(ms: number | null | undefined, now: number = Date.now()): string {
  if (missing(ms)) return "—";
  const f = fields(DATE_TIME, ms);
  const today = fields(DATE_TIME, now);
  const time = `${f.hour}:${f.minute}:${f.second}`;
  const sameDay = f.year === today.year && f.month === today.month && f.day === today.day;
  return sameDay ? time : `${f.month}-${f.day} ${time}`;
}

/** Unix ms in UTC as ISO 8601 (`2026-11-24T18:03:07.120Z`), for `<time dateTime>`. */
export function isoUtc(ms: number): string {
  const f = fields(UTC_DATE_TIME, ms);
  return `${f.year}-${f.month}-${f.day}T${f.hour}:${f.minute}:${f.second}.${f.ms}Z`;
}

/** The hover text of a time: the raw stored value and its UTC form. */
export function rawTime(ms: number | null | undefined): string {
  if (missing(ms)) return "not set";
  return `${ms} (unix ms) = ${isoUtc(ms)}`;
}

/** Unix ms as an `<input type="datetime-local">` value (local, to the minute); "" for none. */
export function localInputValue(ms: number | null): string {
  if (ms === null) return "";
  const f = fields(DATE_TIME, ms);
  return `${f.year}-${f.month}-${f.day}T${f.hour}:${f.minute}`;
}

/** A duration in ms as `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function duration(ms: number): string {
  const a = Math.abs(ms);
  const sign = ms < 0 ? "−" : "";
  if (a < 1000) return `${sign}${WHOLE.format(a)} ms`;
  if (a < 60_000) return `${sign}${TENTHS.format(a / 1000)} s`;
  if (a < 3_600_000) return `${sign}${Math.floor(a / 60_000)} min ${TWO_DIGITS.format(Math.floor((a % 60_000) / 1000))} s`;
  return `${sign}${Math.floor(a / 3_600_000)} h ${TWO_DIGITS.format(Math.floor((a % 3_600_000) / 60_000))} min`;
}

/**
 * How long ago `ms` was, `now` being the present: `4.7 seconds ago` under a minute (tenths,
 * so that a live report's age visibly moves), then whole minutes, hours, days.
 */
export function ago(ms: number, now: number = Date.now()): string {
  const a = Math.max(0, now - ms);
  if (a < 60_000) return RELATIVE.format(-Math.round(a / 100) / 10, "second");
  if (a < 3_600_000) return RELATIVE.format(-Math.floor(a / 60_000), "minute");
  if (a < 86_400_000) return RELATIVE.format(-Math.floor(a / 3_600_000), "hour");
  return RELATIVE.format(-Math.floor(a / 86_400_000), "day");
}

/** Whole seconds as `4:05` or `1:02:03`, for a running class's clock. */
export function elapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = TWO_DIGITS.format(total % 60);
  return h > 0 ? `${h}:${TWO_DIGITS.format(m)}:${s}` : `${m}:${s}`;
}
