/**
 * `Wiring`: which store serves which URI scheme, which table format which
 * extension, which executor runs which service, and which applier deploys to
 * which orchestrator. One frozen value, built in one place (`wiring.ts` beside
 * `mod.ts` for pipeline authors, `executors/wiring.ts` for the processes that
 * run payloads) and passed down: a {@linkcode Provider} gives its wiring to
 * its buckets and resources, a pipeline's run uses its own. Nothing is
 * registered as a side effect of an import, and nothing global changes.
 *
 * @module
 */
import type { Applier } from "./codegen/appliers.ts";
import type { TableFormat } from "./data/formats.ts";
import { CORE_STORAGE, type StorageWiring, type StoreFactory } from "./resources/object_store.ts";
import type { ExecutorFactory } from "./run/executor.ts";
import type { RemoteExecutorFactory } from "./run/remote_executors.ts";

/** Loads an orchestrator's applier on first use. */
export type ApplierLoader = () => Promise<Applier>;

/** What a Glacier process is wired with. Build one with {@linkcode defineWiring}. */
export interface Wiring extends StorageWiring {
  /** The worker pool of local runs; without one, local tasks run in this process. */
  readonly localExecutor?: ExecutorFactory;
  /** Executors of cloud runs by service (`lambda`, `databricks`, …). */
  readonly executors: Readonly<Record<string, RemoteExecutorFactory>>;
  /** Appliers of `deploy({ apply: true })` by orchestrator (`step_functions`). */
  readonly appliers: Readonly<Record<string, ApplierLoader>>;
}

/** The parts of a {@linkcode Wiring} to set; what is left out comes from the base. */
export interface WiringParts {
  /** Stores by scheme, added to (or replacing those of) the base. @default {{}} */
  readonly stores?: Readonly<Record<string, StoreFactory>>;
  /** The formats, replacing the base's list (spread `base.formats` to add to it). @default {base.formats} */
  readonly formats?: readonly TableFormat[];
  /** The local worker pool; `null` runs local tasks in this process. @default {base.localExecutor} */
  readonly localExecutor?: ExecutorFactory | null;
  /** Executors by service, added to (or replacing those of) the base. @default {{}} */
  readonly executors?: Readonly<Record<string, RemoteExecutorFactory>>;
  /** Appliers by orchestrator, added to (or replacing those of) the base. @default {{}} */
  readonly appliers?: Readonly<Record<string, ApplierLoader>>;
}

/**
 * The core's wiring: the built-in table formats, local folders, in-process
 * local runs, no cloud store, executor or applier. What `src/` uses when it
 * is given nothing else; `mod.ts` gives more.
 */
export const CORE_WIRING: Wiring = Object.freeze({
  ...CORE_STORAGE,
  executors: Object.freeze({}),
  appliers: Object.freeze({}),
});

/**
 * Builds a frozen wiring from a base and the parts that differ.
 *
 * @param parts What to add or replace.
 * @param base What the rest comes from. @default {CORE_WIRING}
 * @returns The wiring, frozen.
 * @throws {TypeError} When a store, executor, applier or format is not of the right shape.
 *
 * @example A custom table format for one provider's buckets
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays } from "apache-arrow";
 * import { defineWiring } from "./wiring.ts";
 * import { Provider } from "./provider.ts";
 * import { LocalConfig } from "./config/local.ts";
 *
 * const lines = {
 *   name: "lines",
 *   extensions: ["lines"],
 *   decode: (bytes: Uint8Array) => tableFromArrays({ line: new TextDecoder().decode(bytes).split("\n") }),
 *   encode: () => new Uint8Array(),
 * };
 * const base = new Provider().wiring;
 * const wiring = defineWiring({ formats: [...base.formats, lines] }, base);
 * assert.ok(Object.isFrozen(wiring) && Object.isFrozen(wiring.formats));
 *
 * const root = await Deno.makeTempDir();
 * const provider = new Provider({ config: new LocalConfig({ root }), wiring });
 * const notes = provider.bucket({ bucket: "lake", path: "notes.lines" });
 * await notes.put("a\nb\nc");
 * assert.equal((await notes.scanArrow()).numRows, 3);
 * ```
 */
export function defineWiring(parts: WiringParts, base: Wiring = CORE_WIRING): Wiring {
  if (parts === null || typeof parts !== "object") {
    throw new TypeError(
      `defineWiring(): expected an object of parts, got ${parts === null ? "null" : typeof parts}`,
    );
  }
  const stores = table("stores", 'a scheme such as "s3"', { ...base.stores, ...parts.stores });
  const executors = table("executors", 'a service such as "lambda"', {
    ...base.executors,
    ...parts.executors,
  });
  const appliers = table("appliers", 'an orchestrator such as "step_functions"', {
    ...base.appliers,
    ...parts.appliers,
  });
  const formats = parts.formats ?? base.formats;
  if (!Array.isArray(formats)) {
    throw new TypeError(`defineWiring(): "formats" must be an array of table formats`);
  }
  for (const format of formats) checkFormat(format);
  const localExecutor = parts.localExecutor === null ? undefined : parts.localExecutor ?? base.localExecutor;
  if (localExecutor !== undefined && typeof localExecutor !== "function") {
    throw new TypeError(`defineWiring(): "localExecutor" must be a function that builds a pool, or null`);
  }
  return Object.freeze({
    stores,
    formats: Object.isFrozen(formats) && formats.every(Object.isFrozen) ? formats : Object.freeze(
      formats.map((f) => Object.freeze({ ...f, extensions: Object.freeze([...f.extensions]) })),
    ),
    ...(localExecutor ? { localExecutor } : {}),
    executors,
    appliers,
  });
}

function table<T>(field: string, key: string, entries: Record<string, T>): Readonly<Record<string, T>> {
  for (const [name, value] of Object.entries(entries)) {
    if (name === "" || typeof value !== "function") {
      throw new TypeError(
        `defineWiring(): "${field}" maps ${key} to a function; ${
          JSON.stringify(name)
        } maps to ${typeof value}`,
      );
    }
  }
  return Object.freeze(entries);
}

function checkFormat(format: TableFormat): void {
  const ok = format !== null && typeof format === "object" && typeof format.name === "string" &&
    Array.isArray(format.extensions) && format.extensions.every((e) => /^[a-z0-9]+$/.test(e)) &&
    typeof format.decode === "function" && typeof format.encode === "function";
  if (!ok) {
    throw new TypeError(
      `defineWiring(): format ${
        JSON.stringify((format as { name?: unknown } | null)?.name ?? null)
      } needs a name, lower-case extensions without the dot, decode() and encode()`,
    );
  }
}
