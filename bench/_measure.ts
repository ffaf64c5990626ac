// What every bench script measures with: a median, rounding for the table,
// and the floor a hand-off is compared with (one copy of 100 MB).

/** The median of samples. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A number rounded to `digits` decimals for the results table. */
export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** The median time, in ms, of copying `bytes` bytes into a new buffer. */
export function copyMs(bytes: number, runs: number): number {
  const source = new Uint8Array(bytes).fill(7);
  const copies: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const copy = new Uint8Array(source);
    copies.push(performance.now() - start);
    if (copy[copy.length - 1] !== 7) throw new Error("copy failed");
  }
  return median(copies);
}
