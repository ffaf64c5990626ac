// Arrow decimals as text. apache-arrow hands a Decimal cell as its unscaled
// integer (`12.50` at scale 2 is 1250); CSV and JSON write it scaled, so a
// reader gets the number, with its scale, and not a hundred times it.
import { DataType } from "apache-arrow";

/** The scale of a Decimal column's type, or undefined for any other type. */
export function decimalScale(type: DataType): number | undefined {
  return DataType.isDecimal(type) ? type.scale : undefined;
}

/**
 * A decimal cell as text with its scale: `1250` at scale 2 is `"12.50"`.
 *
 * @param unscaled The cell (apache-arrow's unscaled integer), or its text.
 * @param scale The column's scale (digits after the point; negative scales multiply).
 * @returns The decimal's text.
 */
export function decimalText(unscaled: unknown, scale: number): string {
  const integer = String(unscaled);
  const negative = integer.startsWith("-");
  const magnitude = negative ? integer.slice(1) : integer;
  let text: string;
  if (scale <= 0) text = magnitude === "0" ? "0" : magnitude + "0".repeat(-scale);
  else {
    const digits = magnitude.padStart(scale + 1, "0");
    text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  }
  return negative ? `-${text}` : text;
}
