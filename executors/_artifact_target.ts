// What one kind of function artifact adds to the layout `glacier build` zips
// (executors/lambda/build.ts); each function service's artifact module gives one.

/**
 * What one kind of artifact adds to the common layout: the runtime module the
 * bootstrap starts, Glacier modules it loads lazily, and the service's own files.
 */
export interface ArtifactTarget {
  /** The runtime module (the manifest's `runtime`). */
  readonly runtime: URL;
  /** More Glacier modules to carry (stores a remote side reads staging with). */
  readonly entries: readonly URL[];
  /** Service files by path in the zip (a Node shim, host.json, …). */
  readonly files: Readonly<Record<string, { readonly data: Uint8Array; readonly executable?: boolean }>>;
}
