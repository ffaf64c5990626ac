/**
 * Tells a nodejs-polars frame from any other value without loading polars.
 *
 * nodejs-polars frames are Proxies whose prototype is `Object.prototype`, so
 * `instanceof` cannot tell them apart; their `Symbol.toStringTag` can, and
 * reading it needs no import of `nodejs-polars`. Callers that only route
 * values (the worker codec, `Bucket.write()`) can ask before deciding to pay
 * for loading polars.
 *
 * @module
 */
import type { DataFrame, LazyDataFrame } from "nodejs-polars";

/**
 * Whether `value` is an eager polars `DataFrame`.
 *
 * @param value Any value.
 * @returns `true` for a nodejs-polars `DataFrame`, `false` otherwise (also for a `LazyDataFrame`).
 *
 * @example A DataFrame, a LazyFrame and a plain object
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { isPolarsDataFrame } from "./polars_frames.ts";
 *
 * const df = pl.DataFrame({ a: [1, 2] });
 * assert.equal(isPolarsDataFrame(df), true);
 * assert.equal(isPolarsDataFrame(df.lazy()), false);
 * assert.equal(isPolarsDataFrame({ a: [1, 2] }), false);
 * ```
 */
export function isPolarsDataFrame(value: unknown): value is DataFrame {
  return typeof value === "object" && value !== null &&
    Object.prototype.toString.call(value) === "[object DataFrame]";
}

/**
 * Whether `value` is a polars `LazyDataFrame` (a LazyFrame).
 *
 * @param value Any value.
 * @returns `true` for a nodejs-polars `LazyDataFrame`, `false` otherwise (also for an eager `DataFrame`).
 *
 * @example A LazyFrame, a DataFrame and null
 * ```ts
 * import assert from "node:assert/strict";
 * import pl from "nodejs-polars";
 * import { isPolarsLazyFrame } from "./polars_frames.ts";
 *
 * const df = pl.DataFrame({ a: [1, 2] });
 * assert.equal(isPolarsLazyFrame(df.lazy()), true);
 * assert.equal(isPolarsLazyFrame(df), false);
 * assert.equal(isPolarsLazyFrame(null), false);
 * ```
 */
export function isPolarsLazyFrame(value: unknown): value is LazyDataFrame {
  return typeof value === "object" && value !== null &&
    Object.prototype.toString.call(value) === "[object LazyDataFrame]";
}
