/**
 * Claim-check staging: when a task payload or result would not fit an
 * executor's cap (Lambda's 6 MB synchronous request and response), its Arrow
 * data is written to the provider's staging location under the run's prefix
 * (`<stagingBucket>/runs/<runId>/`) and only a reference travels. The
 * receiving side resolves references back into Arrow IPC bytes. A
 * successful run removes what it staged unless asked to keep it.
 *
 * Works on values encoded by the payload codec with the `ipc` table encoding
 * (`{ $arrow: Uint8Array }`); a staged table becomes
 * `{ $staged: { uri, scheme, config, bucket, key, bytes } }`, which carries
 * the provider config as data (never credentials) so any runner can read it.
 *
 * @module
 */
import { errorMessage, GlacierError } from "../errors.ts";
import type { StorageWiring } from "../resources/object_store.ts";
import { Bucket } from "../resources/storage.ts";

/**
 * The staging prefix of a run under the provider's staging location:
 * `<staging>/runs/<runId>/`.
 *
 * @param staging The staging URI, such as `s3://bucket/glacier`.
 * @param runId The run's id.
 * @returns The prefix URI, ending in `/`.
 */
export function stagingPrefix(staging: string, runId: string): string {
  return `${staging.replace(/\/+$/, "")}/runs/${runId}/`;
}

/** A reference to a staged Arrow IPC object. */
export interface StagedRef {
  /** Where the object is and how to read it. */
  readonly $staged: {
    /** The object's URI, for messages. */
    readonly uri: string;
    /** The storage scheme, such as `s3`. */
    readonly scheme: string;
    /** The provider config as plain data (no credentials). */
    readonly config: unknown;
    /** The bucket. */
    readonly bucket: string;
    /** The key. */
    readonly key: string;
    /** The object's size in bytes. */
    readonly bytes: number;
    /** What it was, when a polars value (its Arrow IPC bytes); absent for an Arrow table. */
    readonly polars?: "DataFrame" | "Series" | "LazyFrame";
  };
}

/** Options for {@linkcode Staging.stage}. */
export interface StageOptions {
  /** The largest encoded size, in bytes, that may travel inline. */
  readonly cap: number;
  /** A name unique in the run for what is staged, such as `clean/1/in`. */
  readonly name: string;
}

/** Bytes reserved for the envelope around a value (ids, names, JSON punctuation). */
const ENVELOPE_BYTES = 16 * 1024;

/**
 * The staging area of one run: a prefix in the provider's storage.
 *
 * @example Stage a large table and read it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { Staging } from "./staging.ts";
 * import { Provider } from "../provider.ts";
 * import { LocalConfig } from "../config/local.ts";
 * const root = await Deno.makeTempDir();
 * const where = new Provider({ config: new LocalConfig({ root }) }).bucket({ bucket: "stage", path: "g/" });
 * const staging = new Staging(where, "run-1");
 * const value = { $arrow: new Uint8Array(100_000) };
 * const staged = await staging.stage(value, { cap: 50_000, name: "t/out" });
 * assert.ok(Staging.hasRefs(staged));
 * const back = await Staging.resolve(staged, where.location.storage) as { $arrow: Uint8Array };
 * assert.ok(back.$arrow.length === 100_000);
 * await staging.cleanup();
 * ```
 */
export class Staging {
  /** The prefix of this run, as a bucket path ending in `/`. */
  readonly root: Bucket;
  #count = 0;

  /**
   * Builds the staging area of a run under a location.
   *
   * @param location The staging location (a bucket and prefix).
   * @param runId The run's id; objects go under `<location>/runs/<runId>/`.
   */
  constructor(location: Bucket, runId: string) {
    const prefix = stagingPrefix(location.path.replace(/\/+$/, ""), runId).replace(/^\/+/, "");
    this.root = location.at(prefix);
  }

  /**
   * The staging area of a run for a provider config with a `stagingBucket`
   * such as `s3://bucket/prefix`.
   *
   * @param uri The staging URI.
   * @param config The provider config as data, for the store.
   * @param runId The run's id.
   * @param storage The stores the staging location is written with.
   * @returns The staging area.
   * @throws {RangeError} When the URI is not `scheme://bucket/prefix`.
   */
  static fromUri(uri: string, config: unknown, runId: string, storage: StorageWiring): Staging {
    const match = /^([a-z0-9]+):\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!match) {
      throw new RangeError(
        `Staging location ${JSON.stringify(uri)} is invalid: use "s3://bucket/prefix"`,
      );
    }
    const [, scheme, bucket, path] = match;
    const data = JSON.parse(JSON.stringify(config ?? {}));
    const path2 = path === "" || path.endsWith("/") ? path : `${path}/`;
    return new Staging(Bucket.fromData({ scheme, config: data, bucket, path: path2 }, storage), runId);
  }

  /**
   * Replaces Arrow IPC blobs (`{ $arrow }`, a polars frame's `{ $polars, ipc }`) with staged references, largest
   * first, until the value's estimated wire size fits the cap. A value that
   * already fits comes back as is.
   *
   * @param value A value encoded with the `ipc` table encoding.
   * @param options The cap and a name for the staged objects.
   * @returns The value with some tables staged.
   * @throws {GlacierError} `USER:PAYLOAD_TOO_LARGE` when it cannot fit even with every table staged.
   * @throws {GlacierError} When the store fails.
   */
  async stage(value: unknown, options: StageOptions): Promise<unknown> {
    return await stageValue(value, options, this);
  }

  /**
   * Writes one blob under this run's prefix.
   *
   * @param name The object name under the prefix (no extension).
   * @param bytes The bytes: Arrow IPC unless the extension says otherwise.
   * @param extension The object's extension. @default {".arrow"}
   * @returns The reference.
   * @throws {GlacierError} When the store fails.
   */
  async put(name: string, bytes: Uint8Array, extension = ".arrow"): Promise<StagedRef> {
    const object = this.root.at(`${this.root.path}${name}-${++this.#count}${extension}`);
    await object.put(bytes);
    const data = object.toData();
    return {
      $staged: {
        uri: object.uri,
        scheme: data.scheme,
        config: data.config,
        bucket: data.bucket,
        key: data.path,
        bytes: bytes.byteLength,
      },
    };
  }

  /**
   * Removes every object under this run's prefix, including those a remote
   * runner staged.
   *
   * @returns How many objects were removed.
   * @throws {GlacierError} When the store fails.
   */
  async cleanup(): Promise<number> {
    const keys = await this.root.list().catch((error) => {
      if ((error as GlacierError).code === "USER:FOLDER_NOT_FOUND") return []; // nothing was staged
      throw error;
    });
    for (const key of keys) await this.root.at(key).delete();
    return keys.length;
  }

  /**
   * Whether a value holds staged references.
   *
   * @param value An encoded value.
   * @returns `true` when some part is a {@linkcode StagedRef}.
   */
  static hasRefs(value: unknown): boolean {
    let found = false;
    walk(value, (v) => {
      if (isStagedRef(v)) found = true;
      return v;
    });
    return found;
  }

  /**
   * Reads every staged reference back into `{ $arrow }` (or `{ $polars, ipc }`) bytes.
   *
   * @param value An encoded value that may hold staged references.
   * @param storage The stores the references are read with.
   * @returns The value with the bytes inline.
   * @throws {GlacierError} `SYSTEM:STAGING_READ` naming the URI when an object cannot be read.
   */
  static async resolve(value: unknown, storage: StorageWiring): Promise<unknown> {
    const refs: StagedRef[] = [];
    walk(value, (v) => {
      if (isStagedRef(v)) refs.push(v);
      return v;
    });
    if (refs.length === 0) return value;
    const bytes = new Map<StagedRef, Uint8Array>();
    await Promise.all(refs.map(async (ref) => {
      const s = ref.$staged;
      try {
        const object = Bucket.fromData(
          { scheme: s.scheme, config: s.config, bucket: s.bucket, path: s.key },
          storage,
        );
        bytes.set(ref, await object.read());
      } catch (error) {
        throw new GlacierError(
          "SYSTEM:STAGING_READ",
          `Cannot read staged data ${JSON.stringify(s.uri)}: ${
            errorMessage(error)
          }; check the staging location is reachable from every executor, or rerun`,
          { cause: error, retryable: true },
        );
      }
    }));
    return walk(value, (v) => {
      if (!isStagedRef(v)) return v;
      const polars = v.$staged.polars;
      return polars ? { $polars: polars, ipc: bytes.get(v)! } : { $arrow: bytes.get(v)! };
    });
  }
}

/**
 * Stages the tables of an encoded value until it fits a cap, with a
 * `put` that writes one blob. Shared by the scheduler side and runners.
 *
 * @param value The encoded value.
 * @param options The cap and a name.
 * @param staging Where blobs go; none means the value must fit as is.
 * @returns The value, some tables replaced by references.
 * @throws {GlacierError} `USER:STAGING_REQUIRED` when it does not fit and there is no staging location.
 * @throws {GlacierError} `USER:PAYLOAD_TOO_LARGE` when it cannot fit even with every table staged.
 */
export async function stageValue(
  value: unknown,
  options: StageOptions,
  staging: Pick<Staging, "put"> | undefined,
): Promise<unknown> {
  const blobs: Uint8Array[] = [];
  walk(value, (v) => {
    const blob = blobOf(v);
    if (blob) blobs.push(blob);
    return v;
  });
  let size = estimateWireSize(value);
  if (size <= options.cap) return value;
  if (blobs.length === 0 || !staging) {
    throw new GlacierError(
      blobs.length === 0 ? "USER:PAYLOAD_TOO_LARGE" : "USER:STAGING_REQUIRED",
      blobs.length === 0
        ? `Data for ${
          JSON.stringify(options.name)
        } is about ${size} bytes, over the executor's ${options.cap}-byte cap, and holds no Arrow table or polars DataFrame to stage; return one, or write to a Bucket and pass the Bucket`
        : `Data for ${
          JSON.stringify(options.name)
        } is about ${size} bytes, over the executor's ${options.cap}-byte cap; set a staging location (AwsConfig({ stagingBucket: "s3://bucket/prefix" })) so large tables travel by reference`,
    );
  }
  const chosen = new Set<Uint8Array>();
  for (const blob of [...blobs].sort((a, b) => b.byteLength - a.byteLength)) {
    if (size <= options.cap) break;
    chosen.add(blob);
    size -= base64Size(blob.byteLength) - 512;
  }
  if (size > options.cap) {
    throw new GlacierError(
      "USER:PAYLOAD_TOO_LARGE",
      `Data for ${
        JSON.stringify(options.name)
      } is about ${size} bytes without its tables, over the executor's ${options.cap}-byte cap; put large non-table data in an Arrow table, a polars DataFrame or a Bucket`,
    );
  }
  const refs = new Map<Uint8Array, StagedRef>();
  for (const blob of chosen) refs.set(blob, await staging.put(options.name, blob));
  return walk(value, (v) => {
    const ref = refs.get(blobOf(v)!);
    if (!ref) return v;
    const polars = (v as { $polars?: StagedRef["$staged"]["polars"] }).$polars;
    return polars ? { $staged: { ...ref.$staged, polars } } : ref;
  });
}

/**
 * Estimates how many bytes a value takes as Glacier's JSON wire format
 * (Arrow IPC as base64); over-estimates slightly.
 *
 * @param value An encoded value.
 * @returns The estimate in bytes.
 */
export function estimateWireSize(value: unknown): number {
  let size = ENVELOPE_BYTES;
  const seen = new Set<unknown>();
  const visit = (v: unknown): void => {
    if (v === null || v === undefined) return void (size += 4);
    switch (typeof v) {
      case "string":
        return void (size += v.length * 3 + 2);
      case "number":
      case "bigint":
        return void (size += 26);
      case "boolean":
        return void (size += 5);
    }
    if (typeof v !== "object" || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Uint8Array || ArrayBuffer.isView(v)) {
      return void (size += base64Size((v as ArrayBufferView).byteLength) + 32);
    }
    if (v instanceof ArrayBuffer) return void (size += base64Size(v.byteLength) + 32);
    if (v instanceof Map) {
      for (const [k, item] of v) (visit(k), visit(item), size += 2);
      return;
    }
    if (v instanceof Set || Array.isArray(v)) {
      for (const item of v as Iterable<unknown>) (visit(item), size += 1);
      return;
    }
    for (const [k, item] of Object.entries(v)) (size += k.length + 4, visit(item));
  };
  visit(value);
  return size;
}

function base64Size(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

function isArrow(v: unknown): v is { $arrow: Uint8Array } {
  return typeof v === "object" && v !== null && (v as { $arrow?: unknown }).$arrow instanceof Uint8Array;
}

// The Arrow IPC bytes a node stages as one object: an Arrow table's, or a
// polars value's (`polars_codec.ts`; a LazyFrame's plan stays inline).
function blobOf(v: unknown): Uint8Array | undefined {
  if (isArrow(v)) return v.$arrow;
  const p = typeof v === "object" && v !== null ? v as { $polars?: unknown; ipc?: unknown } : undefined;
  return typeof p?.$polars === "string" && p.ipc instanceof Uint8Array ? p.ipc : undefined;
}

function isStagedRef(v: unknown): v is StagedRef {
  const s = typeof v === "object" && v !== null
    ? (v as { $staged?: StagedRef["$staged"] }).$staged
    : undefined;
  return typeof s === "object" && s !== null && typeof s.key === "string" && typeof s.bucket === "string";
}

// Rebuilds plain objects, arrays, Maps and Sets, applying `f` to each node
// before descending; a node `f` replaces is not descended into.
function walk(value: unknown, f: (v: unknown) => unknown): unknown {
  const visit = (v: unknown): unknown => {
    const mapped = f(v);
    if (mapped !== v) return mapped;
    if (v === null || typeof v !== "object") return v;
    if (blobOf(v) || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return v;
    if (Array.isArray(v)) return v.map(visit);
    if (v instanceof Map) return new Map([...v].map(([k, item]) => [visit(k), visit(item)]));
    if (v instanceof Set) return new Set([...v].map(visit));
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) out[key] = visit((v as Record<string, unknown>)[key]);
    return out;
  };
  return visit(value);
}
