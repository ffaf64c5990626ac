/**
 * A Dagster definitions file for a pipeline: one `@op` per DAG node sending
 * the same Glacier payload to its executor, a `@job` wiring them along the
 * DAG's edges (`Nothing` dependencies; a dynamic fan-out through
 * `DynamicOut`, `.map()` and `.collect()`), a `ScheduleDefinition` with the
 * cron schedule, and `Definitions`. A task conditional on a param reads the
 * run's `params` op config and skips itself when the condition is false.
 *
 * @module
 */
import { type FlowNode, pythonCondition } from "./_flow.ts";
import type { InfraModel } from "./_model.ts";
import {
  argsOf,
  callSite,
  executorCall,
  executorHelpers,
  payloadHelpers,
  py,
  pyDoc,
  pyStr,
  pythonHeader,
} from "./_python.ts";

/**
 * Renders the definitions file.
 *
 * @param model The infrastructure model.
 * @param flow The flow in topological order.
 * @param schedule The 5-field cron schedule, if any.
 * @returns The Python source.
 */
export function dagsterDefinitions(model: InfraModel, flow: readonly FlowNode[], schedule?: string): string {
  const byId = new Map(flow.map((n) => [n.node.id, n]));
  const op = (n: FlowNode) => `op_${n.key}`;
  const r = (n: FlowNode) => `r_${n.key}`;
  const sources = new Set(flow.map((n) => n.mapOver).filter((x): x is string => !!x));
  const job = `${model.pipeline.toLowerCase().replace(/[^a-z0-9_]+/g, "_")}_job`;
  const out: string[] = [pythonHeader(model, "Dagster job", flow), ""];
  out.push("import json", "import os", "import shlex", "import subprocess", "import time", "");
  out.push(
    "from dagster import (",
    ...[
      "Definitions",
      "DynamicOut",
      "DynamicOutput",
      "Field",
      "In",
      "Nothing",
      "OpExecutionContext",
      "Out",
      "Output",
      "Permissive",
      "RetryPolicy",
      "ScheduleDefinition",
      "job",
      "op",
    ].map((n) => `    ${n},`),
    ")",
  );
  out.push("", payloadHelpers(model), "", "", executorHelpers(model, flow));
  for (const n of flow) {
    const ins: string[] = [];
    for (const i of n.inputs) {
      const up = byId.get(i)!;
      if (i === n.mapOver) ins.push(`"item": In(dict)`);
      else if (up.mapOver) ins.push(`${pyStr(`after_${up.key}`)}: In(list)`);
      else ins.push(`${pyStr(`after_${up.key}`)}: In(Nothing)`);
    }
    const outs = sources.has(n.node.id)
      ? 'out={"done": Out(Nothing), "items": DynamicOut(dict)}'
      : n.mapOver
      ? "out=Out(dict)"
      : "out=Out(Nothing)";
    const options = [
      `name=${pyStr(n.name)}`,
      `ins={${ins.join(", ")}}`,
      outs,
      ...(n.retries > 0
        ? [`retry_policy=RetryPolicy(max_retries=${n.retries}, delay=${n.retryDelayMs / 1000})`]
        : []),
      'config_schema={"params": Field(Permissive(), is_required=False, default_value={})}',
    ];
    // Nothing inputs order the ops but are not parameters.
    const params = n.inputs.flatMap((i) =>
      i === n.mapOver ? ["item"] : byId.get(i)!.mapOver ? [`after_${byId.get(i)!.key}`] : []
    );
    out.push(
      "",
      "",
      `@op(${options.map((o) => `\n    ${o},`).join("")}\n)`,
      `def ${op(n)}(context: OpExecutionContext${params.map((p) => `, ${p}`).join("")}):`,
      `    """Runs node ${pyDoc(n.node.id)} (task ${pyDoc(n.node.task.name)}) on ${
        pyDoc(n.executor.resource.name)
      } (${pyDoc(n.executor.resource.service)})."""`,
    );
    if (n.condition) {
      out.push(
        '    params = context.op_config["params"]',
        `    if not (${pythonCondition(n.condition)}):`,
        `        context.log.info(${pyStr(`Skipped: runs only if ${n.node.condition}`)})`,
        sources.has(n.node.id) ? '        yield Output(None, "done")\n        return' : "        return",
      );
    }
    out.push(
      `    payload = glacier_payload(${callSite(model, n)}, context.run_id, context.retry_number + 1, ${
        py(argsOf(n, byId), "    ")
      }, ${
        n.mapOver ? `f"${n.key}/{item['index']}.out", item` : pyStr(`${n.key}.out`)
      }, params=context.op_config["params"])`,
    );
    if (sources.has(n.node.id)) {
      out.push(
        `    result = ${executorCall(model, n)}`,
        '    yield Output(None, "done")',
        `    for index, value in enumerate(glacier_items(result, context.run_id, ${pyStr(n.key)})):`,
        '        yield DynamicOutput({"value": value, "index": index}, mapping_key=str(index), output_name="items")',
      );
    } else if (n.mapOver) {
      out.push(
        `    ${executorCall(model, n)}`,
        `    return {"$ref": payload["staging"] + payload["output"]}`,
      );
    } else {
      out.push(`    ${executorCall(model, n)}`);
    }
  }
  out.push(
    "",
    "",
    `@job(name=${pyStr(model.pipeline.replace(/[^A-Za-z0-9_]/g, "_"))}, description=${
      pyStr(model.description ?? `Glacier pipeline ${model.pipeline}`)
    }${runLimit(flow)})`,
    `def ${job}():`,
  );
  for (const n of flow) {
    const kwargs = n.inputs.filter((i) => i !== n.mapOver).map((i) => {
      const up = byId.get(i)!;
      const value = up.mapOver ? `${r(up)}.collect()` : sources.has(i) ? `${r(up)}_done` : r(up);
      return `after_${up.key}=${value}`;
    });
    const target = sources.has(n.node.id) ? `${r(n)}_done, ${r(n)}_items` : r(n);
    if (n.mapOver) {
      const source = byId.get(n.mapOver)!;
      out.push(
        `    ${target} = ${r(source)}_items.map(lambda item: ${op(n)}(${
          ["item=item", ...kwargs].join(", ")
        }))`,
      );
    } else {
      out.push(`    ${target} = ${op(n)}(${kwargs.join(", ")})`);
    }
  }
  out.push("", "");
  if (schedule) {
    out.push(
      `${job}_schedule = ScheduleDefinition(`,
      `    name=${pyStr(`${model.pipeline.replace(/[^A-Za-z0-9_]/g, "_")}_schedule`)},`,
      `    job=${job},`,
      `    cron_schedule=${pyStr(schedule)},`,
      '    execution_timezone="UTC",',
      ")",
      "",
      `defs = Definitions(jobs=[${job}], schedules=[${job}_schedule])`,
    );
  } else {
    out.push(`defs = Definitions(jobs=[${job}])`);
  }
  return out.join("\n") + "\n";
}

// Dagster reads dagster/max_runtime on runs only (an op's tag does nothing): when every task
// has a timeout, the run may take at most their sum, with each retry counted.
function runLimit(flow: readonly FlowNode[]): string {
  if (flow.length === 0 || flow.some((n) => n.timeoutMs === undefined || n.mapOver)) return "";
  const seconds = flow.reduce((sum, n) => sum + Math.ceil(n.timeoutMs! / 1000) * (n.retries + 1), 0);
  return `, tags={"dagster/max_runtime": ${seconds}}`;
}
