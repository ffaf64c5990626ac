/**
 * Schedules: a 5-field cron expression (minute hour
 * day-of-month month day-of-week, or a macro such as `@daily`) is validated
 * with `cron-parser` and translated to each orchestrator's form. Amazon
 * EventBridge needs six fields (a year), names or 1–7 for weekdays (Sunday
 * is 1), and `?` in one of the two day fields; a Unix schedule that restricts
 * both day fields fires when either matches, which EventBridge cannot say in
 * one expression, so it becomes two.
 *
 * @module
 */
import { CronExpressionParser } from "cron-parser";

const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const NUMERIC = /^[0-9*,\/-]+$/;
const NAMED = /^(?:[0-9*,\/-]|[A-Za-z]{3})+$/; // months and weekdays may use three-letter names

/** A validated schedule. */
export interface Schedule {
  /** The expression as given. */
  readonly source: string;
  /** The 5-field form (macros expanded). */
  readonly cron: string;
  /** Minutes it fires at, 0 to 59. */
  readonly minutes: readonly number[];
  /** Hours it fires at, 0 to 23. */
  readonly hours: readonly number[];
  /** Months it fires in, 1 to 12. */
  readonly months: readonly number[];
  /** Weekdays it may fire on, 0 (Sunday) to 6. */
  readonly weekdays: readonly number[];
  /** Days of the month it may fire on, 1 to 31. */
  readonly monthDays: readonly number[];
}

/**
 * Validates a 5-field cron expression.
 *
 * @param schedule The expression, such as `0 6 * * *` or `@daily`.
 * @returns The schedule.
 * @throws {RangeError} When it is not a valid 5-field expression (the message says why and shows the form).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSchedule } from "./schedule.ts";
 * assert.ok(parseSchedule("@daily").cron === "0 0 * * *");
 * ```
 */
export function parseSchedule(schedule: string): Schedule {
  if (typeof schedule !== "string") {
    throw new TypeError(`A schedule must be a cron string such as "0 6 * * *", got ${typeof schedule}`);
  }
  const cron = MACROS[schedule.trim().toLowerCase()] ?? schedule.trim().replace(/\s+/g, " ");
  const fields = cron.split(" ");
  const form = '5 fields such as "0 6 * * *" (minute hour day-of-month month day-of-week)';
  if (fields.length !== 5) {
    throw new RangeError(`Schedule ${JSON.stringify(schedule)} has ${fields.length} fields; use ${form}`);
  }
  const odd = fields.find((f, i) => !(i < 3 ? NUMERIC : NAMED).test(f));
  if (odd !== undefined) {
    throw new RangeError(
      `Schedule ${JSON.stringify(schedule)} has an unsupported field ${
        JSON.stringify(odd)
      }; use ${form} with numbers, names, "*", ",", "-" and "/"`,
    );
  }
  const sorted = (values: readonly (number | string)[], mod?: number) =>
    [...new Set(values.map((v) => (mod ? Number(v) % mod : Number(v))))].filter(Number.isInteger).sort((
      a,
      b,
    ) => a - b);
  try {
    const { fields } = CronExpressionParser.parse(cron, { tz: "UTC" });
    return {
      source: schedule,
      cron,
      minutes: sorted(fields.minute.values),
      hours: sorted(fields.hour.values),
      months: sorted(fields.month.values),
      weekdays: sorted(fields.dayOfWeek.values, 7),
      monthDays: sorted(fields.dayOfMonth.values),
    };
  } catch (error) {
    throw new RangeError(
      `Schedule ${JSON.stringify(schedule)} is invalid: ${(error as Error).message}; use ${form}`,
    );
  }
}

/**
 * How many times a schedule fires in an average month: counted over a
 * non-leap year and divided by 12. When both day fields are restricted, a
 * day matches if either does (cron's rule).
 *
 * @param schedule The 5-field expression.
 * @returns Runs per month.
 * @throws {RangeError} When the schedule is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runsPerMonth } from "./schedule.ts";
 * assert.ok(runsPerMonth("0 6 * * *") === 365 / 12);
 * ```
 */
export function runsPerMonth(schedule: string): number {
  const s = parseSchedule(schedule);
  const [, , dom, , dow] = s.cron.split(" ");
  const domAny = dom.startsWith("*"), dowAny = dow.startsWith("*");
  const monthDays = new Set(s.monthDays), weekdays = new Set(s.weekdays), months = new Set(s.months);
  let days = 0;
  for (let t = Date.UTC(2025, 0, 1); t < Date.UTC(2026, 0, 1); t += 86_400_000) {
    const d = new Date(t);
    if (!months.has(d.getUTCMonth() + 1)) continue;
    const byDom = monthDays.has(d.getUTCDate()), byDow = weekdays.has(d.getUTCDay());
    if (domAny && dowAny ? true : domAny ? byDow : dowAny ? byDom : byDom || byDow) days++;
  }
  return (days * s.hours.length * s.minutes.length) / 12;
}

/**
 * EventBridge (Scheduler and rules) `cron(...)` expressions for a schedule:
 * one, or two when both day fields are restricted.
 *
 * @param schedule The 5-field expression.
 * @returns The expressions, each `cron(min hour dom month dow year)`.
 * @throws {RangeError} When the schedule is invalid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toEventBridgeCron } from "./schedule.ts";
 * assert.ok(toEventBridgeCron("0 6 * * 1-5")[0] === "cron(0 6 ? * MON-FRI *)");
 * ```
 */
export function toEventBridgeCron(schedule: string): string[] {
  const s = parseSchedule(schedule);
  const [minute, hour, dom, month, dow] = s.cron.split(" ");
  const days = weekdayText(s.weekdays);
  const cron = (d: string, w: string) => `cron(${minute} ${hour} ${d} ${month.toUpperCase()} ${w} *)`;
  const allDom = s.monthDays.length === 31, allDow = s.weekdays.length === 7;
  // Unix cron: when either day field starts with "*", a day must match both;
  // otherwise (both restricted) either. EventBridge takes one and "?" in the other.
  if (dom.startsWith("*") || dow.startsWith("*")) {
    if (allDom && allDow) return [cron("*", "?")];
    if (allDom) return [cron("?", days)];
    if (allDow) return [cron(dom, "?")];
    throw new RangeError(
      `Schedule ${
        JSON.stringify(schedule)
      } needs a day that matches both its day-of-month and its day-of-week, which EventBridge cannot express; restrict only one of them`,
    );
  }
  return [cron(dom, "?"), cron("?", days)];
}

// Weekdays as EventBridge names, runs of three or more as ranges: MON-FRI, SUN,SAT.
function weekdayText(days: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < days.length;) {
    let j = i;
    while (j + 1 < days.length && days[j + 1] === days[j] + 1) j++;
    parts.push(
      j - i >= 2
        ? `${DAY_NAMES[days[i]]}-${DAY_NAMES[days[j]]}`
        : days.slice(i, j + 1).map((d) => DAY_NAMES[d]).join(","),
    );
    i = j + 1;
  }
  return parts.join(",");
}
