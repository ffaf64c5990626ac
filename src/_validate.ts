// Field checks shared by the config classes: each throws the built-in error a
// user expects, naming the config, the field and the allowed range.

export function intInRange(
  owner: string,
  field: string,
  value: number | undefined,
  min: number,
  max: number,
  unit = "",
): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(
      `${owner}: "${field}" must be a whole number${unit ? ` of ${unit}` : ""}, got ${show(value)}`,
    );
  }
  if (value < min || value > max) {
    throw new RangeError(
      `${owner}: "${field}" is ${value}${unit ? ` ${unit}` : ""}, it must be between ${min} and ${max}${
        unit ? ` ${unit}` : ""
      }`,
    );
  }
}

export function matches(
  owner: string,
  field: string,
  value: string | undefined,
  re: RegExp,
  hint: string,
): void {
  if (value === undefined) return;
  if (typeof value !== "string" || !re.test(value)) {
    throw new RangeError(`${owner}: "${field}" is ${show(value)}, expected ${hint}`);
  }
}

export function oneOf<T extends string>(
  owner: string,
  field: string,
  value: T | undefined,
  allowed: readonly T[],
): void {
  if (value === undefined) return;
  if (!allowed.includes(value)) {
    throw new RangeError(
      `${owner}: "${field}" is ${show(value)}, expected one of ${allowed.map(show).join(", ")}`,
    );
  }
}

export function required<T>(owner: string, field: string, value: T | undefined, hint: string): T {
  if (value === undefined || value === null || value === "") {
    throw new TypeError(`${owner}: "${field}" is required (${hint})`);
  }
  return value;
}

export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** S3, GCS and Azure container names as Glacier accepts them: 3-63 lower-case letters, digits, `.`, `_`, `-`. */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

/** A key prefix for staging: `/`-separated segments of letters, digits, `.`, `_`, `=` and `-`. */
const STAGING_PREFIX = /^(?!(?:.*\/)?\.{1,2}(?:\/|$))(?:[A-Za-z0-9._=-]+\/)*[A-Za-z0-9._=-]*$/;

/**
 * Checks the prefix of a staging URI (what follows `<scheme>://<bucket>/`):
 * only characters every generated language and IAM take literally, so no
 * wildcard, quote, brace or space.
 */
export function stagingPrefix(owner: string, field: string, value: string | undefined): void {
  if (typeof value !== "string") return;
  const prefix = value.match(/^[a-z0-9]+:\/\/[^/]*\/(.*)$/s)?.[1];
  if (prefix !== undefined && !STAGING_PREFIX.test(prefix)) {
    const scheme = value.slice(0, value.indexOf(":"));
    throw new RangeError(
      `${owner}: "${field}" is ${
        show(value)
      }, expected a prefix of "/"-separated letters, digits, ".", "_", "=" or "-" (no "." or ".." part), such as "${scheme}://my-bucket/glacier"`,
    );
  }
}

/** Checks a list of environment variable names: `[A-Za-z_][A-Za-z0-9_]*` each. */
export function envNames(owner: string, field: string, value: readonly string[] | undefined): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${owner}: "${field}" must be a list of environment variable names, got ${show(value)}`,
    );
  }
  value.forEach((name, i) =>
    matches(
      owner,
      `${field}[${i}]`,
      name,
      /^[A-Za-z_][A-Za-z0-9_]*$/,
      'an environment variable name: letters, digits and "_", not starting with a digit',
    )
  );
}
