// The apache-arrow namespace, loaded with import() on first need: evaluating
// it costs ~100 ms per process and per worker, and a run without tables never
// needs it. `import type` here loads nothing.
import type * as Arrow from "apache-arrow";
import { errorMessage, GlacierError } from "../errors.ts";

/** The apache-arrow module namespace. */
export type ArrowModule = typeof Arrow;

let loaded: ArrowModule | undefined;
let loading: Promise<ArrowModule> | undefined;

/** Loads apache-arrow once; later calls return the same namespace. */
export function loadArrow(): Promise<ArrowModule> {
  if (loaded) return Promise.resolve(loaded);
  return loading ??= import("apache-arrow").then(
    (arrow) => loaded = arrow,
    (error) => {
      loading = undefined;
      throw new GlacierError(
        "SYSTEM:ARROW_UNAVAILABLE",
        `Cannot load "apache-arrow": ${errorMessage(error)}; check that the npm package is installed`,
        { cause: error, retryable: true },
      );
    },
  );
}

/** The namespace if {@linkcode loadArrow} has finished, else undefined. */
export function loadedArrow(): ArrowModule | undefined {
  return loaded;
}

/**
 * The table apache-arrow's IPC writer can write.
 *
 * - Its writer reads a view column's (Utf8View, BinaryView) views from
 *   `offset` again although slicing already moved them, so a sliced view
 *   column, or one under a sliced list or struct, is written short
 *   ("BinaryView data buffer is too short" on reading). Such columns are
 *   rebuilt at offset 0 (views as they are, the validity bits moved).
 * - A slice of a Null column says its null count is -1 ("unknown"), and the
 *   writer writes that, which other readers (parquet-wasm) refuse; such
 *   columns get an all-zero validity bitmap, from which slices count.
 * - The IPC file format cannot replace a dictionary, so for `file` the
 *   batches of a table whose batches have dictionaries of their own share
 *   one: their dictionaries one after another, each batch's indices moved
 *   to its part. Every row reads the same value.
 *
 * A table that needs neither is returned as it is.
 */
export function ipcWritable(
  arrow: ArrowModule,
  table: Arrow.Table,
  options: { file?: boolean } = {},
): Arrow.Table {
  const { DataType, RecordBatch, Table, Vector } = arrow;
  const has = (type: Arrow.DataType, is: (t: Arrow.DataType) => boolean): boolean =>
    is(type) || (DataType.isDictionary(type) && has(type.dictionary, is)) ||
    (type.children ?? []).some((f: Arrow.Field) => has(f.type, is));
  const isView = (t: Arrow.DataType) => DataType.isUtf8View(t) || DataType.isBinaryView(t);
  const isRebased = (t: Arrow.DataType) => isView(t) || DataType.isNull(t);
  const fields = table.schema.fields;
  const views = fields.some((f) => has(f.type, isRebased));
  // Batches without rows are left out of a file: they hold nothing, but dictionaries of their own.
  const batches = options.file ? table.batches.filter((b) => b.numRows > 0) : table.batches;
  const unify = options.file === true && fields.some((f) => has(f.type, DataType.isDictionary)) &&
    (batches.length > 1 || batches.length < table.batches.length);
  if (!views && !unify) return table;
  const needs = (t: Arrow.DataType) =>
    (views && has(t, isRebased)) || (unify && has(t, DataType.isDictionary));
  const shared = new Map<Arrow.Vector, { vector: Arrow.Vector; start: number }>();
  const rebase = (d: Arrow.Data): Arrow.Data => {
    if (!needs(d.type)) return d;
    if (DataType.isNull(d.type)) {
      // With an all-zero validity bitmap every slice counts its nulls, where
      // it would say -1 ("unknown"), which other readers refuse.
      const bits = new Uint8Array((d.offset + d.length + 7) >> 3);
      return new arrow.Data(d.type, d.offset, d.length, d.length, [undefined, undefined, bits]);
    }
    if (isView(d.type)) {
      if (d.offset === 0) return d;
      const bits = d.nullCount > 0 && d.nullBitmap?.length
        ? shiftBits(d.nullBitmap, d.offset, d.length)
        : undefined;
      return new arrow.Data(
        d.type,
        0,
        d.length,
        d.nullCount,
        [undefined, d.values, bits],
        [],
        undefined,
        d.variadicBuffers,
      );
    }
    if (DataType.isDictionary(d.type)) {
      const one = shared.get(d.dictionary!);
      const indices = one && one.start > 0
        ? d.values instanceof BigInt64Array || d.values instanceof BigUint64Array
          ? (d.values as BigInt64Array).map((i) => i + BigInt(one.start))
          : (d.values as Int32Array).map((i) => i + one.start)
        : d.values;
      const dictionary = one?.vector ?? new Vector(d.dictionary!.data.map(rebase));
      return new arrow.Data(
        d.type,
        d.offset,
        d.length,
        d.nullCount,
        [undefined, indices, d.nullBitmap],
        [],
        dictionary,
      );
    }
    let children = d.children.map((c) => c && rebase(c));
    let buffers = d.buffers;
    if (d.valueOffsets && d.length > 0) {
      // The writer slices a list's child to the list's first offset: slice it here and rebase the offsets to 0.
      const offsets = d.valueOffsets as Int32Array | BigInt64Array;
      const begin = Number(offsets[0]), end = Number(offsets[d.length]);
      children = [rebase(d.children[0].slice(begin, end - begin))];
      const rebased = offsets instanceof BigInt64Array
        ? offsets.map((o) => o - BigInt(begin))
        : (offsets as Int32Array).map((o) => o - begin);
      buffers = [rebased, d.values, d.nullBitmap, d.typeIds] as typeof buffers;
    }
    return new arrow.Data(d.type, d.offset, d.length, d.nullCount, buffers, children, d.dictionary);
  };
  if (unify) {
    // Each dictionary id's distinct dictionaries, in batch order, and where each starts in their concatenation.
    const byId = new Map<number, { type: Arrow.Dictionary; parts: Arrow.Vector[] }>();
    const collect = (d: Arrow.Data | undefined): void => {
      if (!d) return;
      if (DataType.isDictionary(d.type) && d.dictionary) {
        const entry = byId.get(d.type.id) ?? byId.set(d.type.id, { type: d.type, parts: [] }).get(d.type.id)!;
        if (!entry.parts.includes(d.dictionary)) entry.parts.push(d.dictionary);
        d.dictionary.data.forEach(collect);
      }
      d.children.forEach(collect);
    };
    batches.forEach((b) => collect(b.data));
    for (const { type, parts } of byId.values()) {
      const total = parts.reduce((n, p) => n + p.length, 0);
      const max = 2 ** (type.indices.bitWidth - (type.indices.isSigned ? 1 : 0)) - 1;
      if (parts.length < 2 || total - 1 > max) continue; // one dictionary already, or indices too narrow: written as they are
      const vector = new Vector(parts.flatMap((p) => p.data.map(rebase)));
      let start = 0;
      for (const part of parts) (shared.set(part, { vector, start }), start += part.length);
    }
  }
  // apache-arrow's placeholder batch for a stream without batches stays as it is: the writer skips it.
  return new Table(
    table.schema,
    batches.map((b) =>
      b.constructor !== RecordBatch ? b : new RecordBatch(table.schema, rebase(b.data) as never)
    ),
  );
}

// `length` bits of `bits` from bit `offset`, as a bitmap starting at bit 0.
function shiftBits(bits: Uint8Array, offset: number, length: number): Uint8Array {
  const out = new Uint8Array((length + 7) >> 3);
  for (let i = 0; i < length; i++) {
    const j = offset + i;
    if (bits[j >> 3] & (1 << (j & 7))) out[i >> 3] |= 1 << (i & 7);
  }
  return out;
}
