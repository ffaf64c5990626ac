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
