// Runs per month of a 5-field cron schedule (minute hour day-of-month month
// day-of-week), counted exactly over a non-leap year and divided by 12.

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

function field(text: string, min: number, max: number, names: string[] = [], what: string): Set<number> {
  const out = new Set<number>();
  const num = (s: string) => {
    const i = names.indexOf(s.toLowerCase());
    const n = i >= 0 ? i + (names === MONTHS ? 1 : 0) : Number(s);
    if (!Number.isInteger(n)) throw new RangeError(`bad ${what} ${JSON.stringify(s)}`);
    return n;
  };
  for (const part of text.split(",")) {
    const [range, stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) {
      throw new RangeError(`bad step ${JSON.stringify(part)} in ${what}`);
    }
    let lo = min, hi = max;
    if (range !== "*") {
      const [a, b] = range.split("-");
      lo = num(a);
      hi = b === undefined ? (stepText === undefined ? lo : max) : num(b);
    }
    if (what === "day of week" && hi === 7) hi = 7;
    if (lo < min || hi > (what === "day of week" ? 7 : max) || lo > hi) {
      throw new RangeError(`${what} ${JSON.stringify(part)} is outside ${min}-${max}`);
    }
    for (let v = lo; v <= hi; v += step) out.add(what === "day of week" ? v % 7 : v);
  }
  return out;
}

/**
 * How many times a cron schedule fires in an average month.
 *
 * @throws {RangeError} When the schedule is not a 5-field cron expression.
 */
export function runsPerMonth(schedule: string): number {
  const expr = MACROS[schedule.trim()] ?? schedule.trim();
  const parts = expr.split(/\s+/);
  if (parts.length !== 5) {
    throw new RangeError(
      `Schedule ${
        JSON.stringify(schedule)
      } is not a 5-field cron expression such as "0 2 * * *" (minute hour day month weekday)`,
    );
  }
  let fields: Set<number>[];
  try {
    fields = [
      field(parts[0], 0, 59, [], "minute"),
      field(parts[1], 0, 23, [], "hour"),
      field(parts[2], 1, 31, [], "day of month"),
      field(parts[3], 1, 12, MONTHS, "month"),
      field(parts[4], 0, 6, DAYS, "day of week"),
    ];
  } catch (error) {
    throw new RangeError(`Schedule ${JSON.stringify(schedule)} is invalid: ${(error as Error).message}`);
  }
  const [minutes, hours, dom, months, dow] = fields;
  const domAny = parts[2] === "*", dowAny = parts[4] === "*";
  let days = 0;
  for (let t = Date.UTC(2025, 0, 1); t < Date.UTC(2026, 0, 1); t += 86_400_000) {
    const d = new Date(t);
    if (!months.has(d.getUTCMonth() + 1)) continue;
    const byDom = dom.has(d.getUTCDate()), byDow = dow.has(d.getUTCDay());
    // Cron's rule: when both day fields are restricted, either may match.
    if (domAny && dowAny ? true : domAny ? byDow : dowAny ? byDom : byDom || byDow) days++;
  }
  return (days * hours.size * minutes.size) / 12;
}
