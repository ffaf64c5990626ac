import assert from "node:assert/strict";
import { parseSchedule, toEventBridgeCron } from "../../src/schedule.ts";

const CASES: [string, string[]][] = [
  ["0 6 * * *", ["cron(0 6 * * ? *)"]],
  ["*/15 * * * *", ["cron(*/15 * * * ? *)"]],
  ["0 9-17 * * 1-5", ["cron(0 9-17 ? * MON-FRI *)"]],
  ["30 2 1 * *", ["cron(30 2 1 * ? *)"]],
  ["0 0 * * 0", ["cron(0 0 ? * SUN *)"]],
  ["0 0 * * 7", ["cron(0 0 ? * SUN *)"]],
  ["0 0 * * sun,sat", ["cron(0 0 ? * SUN,SAT *)"]],
  ["0 0 * * 5-6", ["cron(0 0 ? * FRI,SAT *)"]],
  ["0 0 * * */2", ["cron(0 0 ? * SUN,TUE,THU,SAT *)"]],
  ["0 12 1,15 jan,jul *", ["cron(0 12 1,15 JAN,JUL ? *)"]],
  ["30 2 1 * 1-5", ["cron(30 2 1 * ? *)", "cron(30 2 ? * MON-FRI *)"]],
  ["0 0 * * 0-6", ["cron(0 0 * * ? *)"]],
  ["@daily", ["cron(0 0 * * ? *)"]],
  ["@hourly", ["cron(0 * * * ? *)"]],
  ["@weekly", ["cron(0 0 ? * SUN *)"]],
  ["@monthly", ["cron(0 0 1 * ? *)"]],
  ["  0   6  *  * * ", ["cron(0 6 * * ? *)"]],
];

Deno.test("toEventBridgeCron translates 5-field cron: a year field, ? in one day field, weekday names", () => {
  for (const [unix, expected] of CASES) assert.deepEqual(toEventBridgeCron(unix), expected, unix);
});

Deno.test("parseSchedule rejects what is not a valid 5-field cron expression, saying why", () => {
  const bad: [string, RegExp][] = [
    ["* * * *", /has 4 fields; use 5 fields such as "0 6 \* \* \*"/],
    ["0 0 6 * * *", /has 6 fields/],
    ["61 * * * *", /is invalid: .*59/],
    ["0 25 * * *", /is invalid/],
    ["0 0 0 * *", /is invalid/],
    ["0 0 * 13 *", /is invalid/],
    ["0 0 L * *", /unsupported field "L"/],
    ["0 0 ? * 1", /unsupported field "\?"/],
    ["every day", /has 2 fields/],
    ["", /has 1 fields/],
  ];
  for (const [schedule, message] of bad) {
    assert.throws(
      () => parseSchedule(schedule),
      (e: unknown) => e instanceof RangeError && message.test(e.message),
      schedule,
    );
  }
  assert.throws(() => parseSchedule(42 as unknown as string), TypeError);
  assert.throws(() => toEventBridgeCron("0 0 */2 * */2"), /needs a day that matches both/);
});
