// One escaper per language Glacier writes. Every value that comes from a
// user (a description, a module path, a bucket path, a prefix, a schedule)
// reaches generated code through one of these, so no value can end a string,
// a comment or a docstring, or start an interpolation, in the language it is
// written into. Values with strict rules in the cloud (bucket names, function
// names, environment variable names, staging prefixes) are also validated
// where they are given (src/config/, src/provider.ts, _model.ts); the
// escapers do not rely on that. A lone surrogate, which no UTF-8 file can
// hold, becomes U+FFFD in every language alike.
//
// Jinja (Airflow's templated operator fields) is escaped by the generated
// Python itself, in `jinja_literal()` (airflow.ts), because the payload it
// protects is assembled when the DAG runs.

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators:
// never written raw, since one of the languages reads each as a line break
// or refuses it.
// deno-lint-ignore no-control-regex -- control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SHORT: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const hex4 = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
const control = (c: string) => SHORT[c] ?? hex4(c);

// A double-quoted literal with `\"`, `\\`, `\n`, `\r`, `\t` and `\uXXXX`:
// the escapes JSON, Python, HCL, TypeScript, YAML and CEL share with the
// same meaning. Benign text comes out exactly as JSON.stringify writes it.
function quoted(text: string, more?: RegExp): string {
  const body = text.toWellFormed().replace(/["\\]/g, "\\$&").replace(CONTROL, control);
  return `"${more ? body.replace(more, hex4) : body}"`;
}

/** A Python `str` literal; its body (without the quotes) is also safe inside a `"""` docstring. */
export function pyStr(text: string): string {
  return quoted(text);
}

/** Text for inside a Python `"""` docstring: no run of quotes, backslash or control character survives raw. */
export function pyDoc(text: string): string {
  return pyStr(text).slice(1, -1);
}

/**
 * An HCL quoted string: `${` and `%{` written `$${` and `%%{` so Terraform
 * reads them as text, never as an interpolation or a directive.
 */
export function hclStr(text: string): string {
  return escapeTemplate(quoted(text));
}

/** Text for an HCL template (a quoted string or a heredoc): `${` → `$${`, `%{` → `%%{`. */
export function escapeTemplate(text: string): string {
  return text.replace(/[$%]\{/g, (m) => m[0] + m);
}

/** A TypeScript (and JavaScript) string literal. */
export function tsStr(text: string): string {
  return quoted(text);
}

/** Text for inside a TypeScript template literal: also `` ` `` and `${` escaped. */
export function tsTemplate(text: string): string {
  return tsStr(text).slice(1, -1).replace(/`|\$\{/g, (m) => `\\${m}`);
}

/**
 * A YAML double-quoted scalar. Also escapes what YAML does not allow raw
 * (U+FEFF, U+FFFE, U+FFFF) besides the controls and separators.
 */
export function yamlStr(text: string): string {
  return quoted(text, /[\ufeff\ufffe\uffff]/g);
}

/** Literal text for a CloudFormation `Fn::Sub` string: `${` written `${!`. */
export function cfnSub(text: string): string {
  return text.toWellFormed().replaceAll("${", "${!");
}

/** Literal text for a Step Functions intrinsic string (`States.Format('…')`): `'`, `{`, `}` and `\` escaped. */
export function aslLiteral(text: string): string {
  return text.toWellFormed().replace(/['{}\\]/g, "\\$&");
}

/** A CEL string literal (GCP IAM conditions). */
export function celStr(text: string): string {
  return quoted(text);
}

/**
 * Text for a one-line comment in any of the languages (`#`, `//`): line
 * breaks and other controls are written as visible escapes, so a value can
 * never end the comment.
 */
export function commentText(text: string): string {
  return text.toWellFormed().replace(CONTROL, control);
}
