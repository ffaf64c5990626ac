// Helpers the config files share; not part of the public API.
import { intInRange } from "../_validate.ts";
import type { Range } from "./services.ts";

// An environment variable, or undefined when unset, empty or not permitted.
export function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: fall back to the default
  }
}

// Throws a RangeError naming owner and field when value is not a URL.
export function validUrl(owner: string, field: string, value: string): void {
  try {
    new URL(value);
  } catch {
    throw new RangeError(
      `${owner}: "${field}" is ${JSON.stringify(value)}, expected a URL such as "http://127.0.0.1:4569"`,
    );
  }
}

// Throws when value is not a whole number in the service table's range for the field.
export function inRange(owner: string, field: string, value: number | undefined, range: Range): void {
  intInRange(owner, field, value, range.min, range.max, range.unit);
}
