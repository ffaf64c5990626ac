/**
 * An Airflow 2.x DAG file for a pipeline: Lambda tasks as
 * `LambdaInvokeFunctionOperator`, Databricks tasks as
 * `DatabricksSubmitRunOperator`, VM tasks as `SSHOperator`, and tasks bound to
 * this machine as a `BashOperator` running Deno on the Airflow worker. Task
 * `retries`, `retryDelay` and `timeout` map to `retries`, `retry_delay` and
 * `execution_timeout`; a task conditional on a param waits on a
 * `ShortCircuitOperator`. A dynamic fan-out is a mapped task group (Airflow
 * 2.5+) around the task's operator: every argument stays a templated field
 * that Airflow renders per mapped task instance, so each one sends its own
 * try number and map index, and the runner reads its item by that index from
 * the mapped list's staged output. (Values expanded from XCom are never
 * rendered, and every operator has just one field that reaches the executor.)
 *
 * @module
 */
import { type FlowNode, pythonCondition } from "./_flow.ts";
import { lambdaTimeout } from "./_aws_stack.ts";
import type { InfraModel } from "./_model.ts";
import {
  argsOf,
  callSite,
  databricksRun,
  payloadHelpers,
  py,
  pyDoc,
  pyStr,
  pythonHeader,
} from "./_python.ts";

/** The Airflow DAG id of a pipeline. */
export function airflowDagId(model: InfraModel): string {
  return model.pipeline.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/**
 * Renders the DAG file.
 *
 * @param model The infrastructure model.
 * @param flow The flow in topological order.
 * @param schedule The 5-field cron schedule, if any.
 * @returns The Python source.
 */
export function airflowDag(model: InfraModel, flow: readonly FlowNode[], schedule?: string): string {
  const byId = new Map(flow.map((n) => [n.node.id, n]));
  const v = (n: FlowNode) => `t_${n.key}`;
  const vias = new Set(flow.map((n) => n.via));
  const conditional = new Set<string>();
  for (const n of flow) {
    if (n.condition || n.inputs.some((i) => conditional.has(i))) conditional.add(n.node.id);
  }
  const out: string[] = [pythonHeader(model, "Airflow DAG", flow), ""];
  out.push("import json", "import re");
  if (vias.has("local") || vias.has("ssh")) out.push("import shlex");
  out.push("from datetime import timedelta", "", "import pendulum", "from airflow import DAG");
  if (flow.some((n) => n.mapOver)) out.push("from airflow.decorators import task, task_group");
  if (vias.has("local")) out.push("from airflow.operators.bash import BashOperator");
  if (flow.some((n) => n.mapOver)) out.push("from airflow.operators.python import get_current_context");
  if (flow.some((n) => n.condition)) out.push("from airflow.operators.python import ShortCircuitOperator");
  if (vias.has("lambda")) {
    out.push(
      "from airflow.providers.amazon.aws.operators.lambda_function import LambdaInvokeFunctionOperator",
    );
  }
  if (vias.has("databricks")) {
    out.push("from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator");
  }
  if (vias.has("ssh")) out.push("from airflow.providers.ssh.operators.ssh import SSHOperator");
  out.push("", payloadHelpers(model), "", "");
  out.push(`RUN_ID = "{{ run_id }}"
ATTEMPT = "{{ ti.try_number }}"
MAP_INDEX = "{{ ti.map_index }}"
PARAMS = "{{ dag_run.conf | tojson }}"


def jinja_literal(text):
    """Text that Jinja renders as written: a "{" that would open a tag is written in a raw block (no quote, so shlex and JSON leave it)."""
    return re.sub(r"\\{(?=[{%#])", "{% raw %}{{% endraw %}", text)


def templated(payload):
    """The payload as JSON for a templated field: Airflow renders the run id, the attempt number, the run's conf (params) and a mapped task instance's map index (its item and output); every other value stays as written."""
    templates = {
        "runId": (RUN_ID, '"{{ run_id }}"'),
        "staging": (f"{STAGING}{RUN_ID}/", jinja_literal(json.dumps(STAGING))[:-1] + '{{ run_id }}/"'),
        "attempt": (ATTEMPT, ATTEMPT),
        "params": (PARAMS, PARAMS),
        "item": ({"index": MAP_INDEX}, '{"index": {{ ti.map_index }}}'),
    }
    output = payload.get("output", "")
    if output.endswith(f"/{MAP_INDEX}.out"):
        folder = output[: -len(f"{MAP_INDEX}.out")]
        templates["output"] = (output, jinja_literal(json.dumps(folder))[:-1] + '{{ ti.map_index }}.out"')
    fields = []
    for key, value in payload.items():
        template = templates.get(key)
        text = template[1] if template and value == template[0] else jinja_literal(json.dumps(value))
        fields.append(f"{json.dumps(key)}: {text}")
    return "{" + ", ".join(fields) + "}"`);
  if (vias.has("local")) {
    out.push(
      "",
      "",
      `def deno_command(payload_json):
    """Runs one payload with Deno from the project checkout at GLACIER_PROJECT on the Airflow worker."""
    return 'cd "\${GLACIER_PROJECT:-.}" && deno run -A --quiet ${model.runner} --payload ' + shlex.quote(payload_json)`,
    );
  }
  if (vias.has("ssh")) {
    out.push(
      "",
      "",
      `def ssh_command(payload_json):
    """Runs one payload with Deno from the project checkout in ~/glacier on the VM."""
    return "cd glacier && deno run -A --quiet ${model.runner} --payload " + shlex.quote(payload_json)`,
    );
  }
  if (flow.some((n) => n.mapOver)) {
    out.push(
      "",
      "",
      `def glacier_items(value, run_id, key):
    """The list a mapped task iterates: inline, or read from the staged output."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else None
    if isinstance(value, list):
        return value
    uri = value["$ref"] if isinstance(value, dict) and "$ref" in value else f"{STAGING}{run_id}/{key}.out"
    if not uri.startswith("s3://"):
        raise ValueError(f"Cannot read the items of {key} from {uri}: only s3:// staging is read here")
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    bucket, _, object_key = uri[len("s3://"):].partition("/")
    return json.loads(S3Hook().read_key(object_key, bucket_name=bucket))`,
    );
  }

  // What an operator is given for one payload expression (Python text), every argument in a
  // templated field (`indent`: where its lines start).
  const operatorArgs = (n: FlowNode, payloadExpr: string, indent: string): string[] => {
    switch (n.via) {
      case "lambda":
        return [
          `function_name=${pyStr(n.executor.name)}`,
          `payload=templated(${payloadExpr})`,
          // boto3's 60 s read timeout would re-invoke a longer call; retries are Airflow's.
          `botocore_config={"read_timeout": ${
            lambdaTimeout(model, n.executor) + 60
          }, "connect_timeout": 10, "retries": {"total_max_attempts": 1}}`,
        ];
      case "databricks":
        return [`json=databricks_run(${py(databricksRun(model, n), indent)}, ${payloadExpr})`];
      case "ssh":
        return [
          `ssh_conn_id=${pyStr(`glacier_${n.executor.id}`)}`,
          `command=ssh_command(templated(${payloadExpr}))`,
          // SSHOperator stops a command after 10 s by default; the task's own timeout governs.
          `cmd_timeout=${n.timeoutMs !== undefined ? Math.ceil(n.timeoutMs / 1000) : "None"}`,
        ];
      case "local":
        return [`bash_command=deno_command(templated(${payloadExpr}))`];
    }
  };
  if (vias.has("databricks")) {
    out.push(
      "",
      "",
      `def databricks_run(run, payload):
    """A runs/submit body with the payload as the launcher's last parameter; Airflow renders the body, which keeps its text from Jinja."""
    body = json.loads(jinja_literal(json.dumps(run)))
    body["tasks"][0]["spark_python_task"]["parameters"].append(templated(payload))
    return body`,
    );
  }
  const operator = {
    lambda: "LambdaInvokeFunctionOperator",
    databricks: "DatabricksSubmitRunOperator",
    ssh: "SSHOperator",
    local: "BashOperator",
  };
  const common = (n: FlowNode): string[] => [
    ...(n.retries > 0
      ? [
        `retries=${n.retries}`,
        `retry_delay=timedelta(milliseconds=${n.retryDelayMs})`,
        "retry_exponential_backoff=True",
      ]
      : []),
    ...(n.timeoutMs !== undefined ? [`execution_timeout=timedelta(milliseconds=${n.timeoutMs})`] : []),
    ...(conditional.has(n.node.id) && !n.condition ? ['trigger_rule="none_failed_min_one_success"'] : []),
  ];

  out.push("", "", "with DAG(");
  out.push(`    dag_id=${pyStr(airflowDagId(model))},`);
  out.push(`    description=${pyStr(model.description ?? `Glacier pipeline ${model.pipeline}`)},`);
  out.push(`    schedule=${schedule ? pyStr(schedule) : "None"},`);
  out.push('    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),');
  out.push("    catchup=False,");
  out.push("    max_active_runs=1,");
  out.push('    tags=["glacier"],');
  out.push(") as dag:");
  for (const n of flow) {
    const site = callSite(model, n);
    if (n.condition) {
      out.push(
        `    ${v(n)}__if = ShortCircuitOperator(`,
        `        task_id=${pyStr(`${n.name}__if`)},`,
        `        python_callable=lambda params: ${pythonCondition(n.condition)},`,
        "        ignore_downstream_trigger_rules=False,",
        "    )",
      );
    }
    // The operator at `depth` levels of indentation, with a payload for `output` and `item` (Python text).
    const operatorLines = (depth: string, output: string, item: string): string[] => {
      const inner = `${depth}    `;
      const payload = `glacier_payload(${site}, RUN_ID, ATTEMPT, ${
        py(argsOf(n, byId), inner)
      }, ${output}${item}, params=PARAMS)`;
      return [
        `${depth}${v(n)} = ${operator[n.via]}(`,
        `${inner}task_id=${pyStr(n.name)},`,
        ...[...operatorArgs(n, payload, inner), ...common(n)].map((a) => `${inner}${a},`),
        `${depth})`,
      ];
    };
    if (!n.mapOver) {
      out.push(...operatorLines("    ", pyStr(`${n.key}.out`), ""));
      continue;
    }
    // A mapped task group, not Op.partial().expand(): an expanded argument comes through XCom, is never
    // rendered and is the one field that reaches the executor, so its attempt would be the __items task's.
    const source = byId.get(n.mapOver)!;
    out.push(
      "",
      `    @task(task_id=${pyStr(`${n.name}__items`)})`,
      `    def ${n.key}__items(listing):`,
      `        """One map index per item of ${
        pyDoc(source.node.id)
      }'s output (inline, its JSON text or a staged $ref)."""`,
      `        items = glacier_items(listing, get_current_context()["run_id"], ${pyStr(source.key)})`,
      "        return list(range(len(items)))",
      "",
      `    @task_group(group_id=${pyStr(`${n.name}__map`)}, prefix_group_id=False)`,
      `    def ${n.key}__map(index):`,
      `        """${
        pyDoc(n.node.id)
      } once per item: Airflow renders each mapped task instance's own try number and map index into its payload, and the runner reads the item at that index from ${
        pyDoc(source.node.id)
      }'s staged output."""`,
      ...operatorLines("        ", `f"${n.key}/{MAP_INDEX}.out"`, ', {"index": MAP_INDEX}'),
      `        return ${v(n)}`,
      "",
      `    ${v(n)} = ${n.key}__map.expand(index=${n.key}__items(${v(source)}.output))`,
    );
  }
  out.push("");
  for (const n of flow) {
    if (n.condition) {
      for (const i of n.inputs) out.push(`    ${v(byId.get(i)!)} >> ${v(n)}__if`);
      out.push(`    ${v(n)}__if >> ${v(n)}`);
    }
  }
  for (const n of flow) for (const i of n.inputs) out.push(`    ${v(byId.get(i)!)} >> ${v(n)}`);
  return out.join("\n") + "\n";
}
