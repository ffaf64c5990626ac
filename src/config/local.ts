/**
 * The embedded local default provider config.
 *
 * @module
 */

/** Options for {@linkcode LocalConfig}. */
export interface LocalConfigOptions {
  /** The folder under which each bucket is a sub-folder. @default {"./data"} */
  root?: string;
}

/**
 * The embedded local default: buckets are folders under `root`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalConfig } from "./local.ts";
 * assert.ok(new LocalConfig().root === "./data");
 * ```
 */
export class LocalConfig {
  /** Always `"local"`. */
  readonly cloud = "local" as const;
  /** The folder under which each bucket is a sub-folder. */
  readonly root: string;
  /**
   * Builds it.
   * @param options The root folder.
   */
  constructor(options: LocalConfigOptions = {}) {
    this.root = options.root ?? "./data";
    if (typeof this.root !== "string" || this.root === "") {
      throw new TypeError(`LocalConfig: "root" must be a folder path, got ${JSON.stringify(this.root)}`);
    }
  }
}
