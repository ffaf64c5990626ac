// How a deployed Lambda function gets the values of its secret environment
// variables (`LambdaConfig({ environment })`, the launcher's DATABRICKS_TOKEN):
// never as plain variables, but as a Secrets Manager secret each, named to the
// function by `GLACIER_SECRET_<NAME>` = the secret's ARN. The function's runtime
// reads them at start and sets `<NAME>` (executors/lambda/_secrets.ts), so a
// task reads `Deno.env.get(NAME)` wherever it runs, and locally `<NAME>` is
// simply set.

/** The prefix of the variable that names the secret holding `<NAME>`'s value. */
export const SECRET_ENV_PREFIX = "GLACIER_SECRET_";

/** The Secrets Manager name of a pipeline's secret variable: `glacier/<pipeline>/<NAME>`. */
export function secretName(pipeline: string, variable: string): string {
  return `glacier/${pipeline}/${variable}`;
}

/** The stack id (and input name) of a secret variable: `env_<name>`. */
export function secretId(variable: string): string {
  return `env_${variable.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
}
