/**
 * A Prefect flow file for a pipeline: one `@task` per DAG node sending the
 * same Glacier payload to its executor (Lambda, Databricks, SSH, or Deno on
 * the worker for tasks bound to this machine), a `@flow` that submits them
 * with `wait_for` along the DAG's edges, `.map()` for a dynamic fan-out, a
 * Python `if` on the params for a conditional task, and a deployment with
 * the cron schedule through `flow.serve()`.
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
import { commentText } from "./_escape.ts";

/**
 * Renders the flow file.
 *
 * @param model The infrastructure model.
 * @param flow The flow in topological order.
 * @param schedule The 5-field cron schedule, if any.
 * @returns The Python source.
 */
export function prefectFlow(model: InfraModel, flow: readonly FlowNode[], schedule?: string): string {
  const byId = new Map(flow.map((n) => [n.node.id, n]));
  const fn = (n: FlowNode) => `task_${n.key}`;
  const f = (n: FlowNode) => `f_${n.key}`;
  const flowName = model.pipeline;
  const out: string[] = [pythonHeader(model, "Prefect flow", flow), ""];
  out.push("import json", "import os", "import shlex", "import subprocess", "import time", "");
  out.push(
    "from prefect import flow, task, unmapped",
    "from prefect.futures import wait",
    "from prefect.runtime import flow_run, task_run",
  );
  out.push("", payloadHelpers(model), "", "", executorHelpers(model, flow), "", "");
  out.push(`def deps(*futures):
    """The futures to wait for: skipped (None) ones left out, mapped ones flattened."""
    flat = []
    for future in futures:
        if isinstance(future, (list, tuple)):
            flat.extend(future)
        elif future is not None:
            flat.append(future)
    return flat`);
  for (const n of flow) {
    const options = [
      `name=${pyStr(n.node.id)}`,
      ...(n.retries > 0 ? [`retries=${n.retries}`, `retry_delay_seconds=${n.retryDelayMs / 1000}`] : []),
      ...(n.timeoutMs !== undefined ? [`timeout_seconds=${n.timeoutMs / 1000}`] : []),
    ];
    out.push(
      "",
      "",
      `@task(${options.join(", ")})`,
      `def ${fn(n)}(run_id, params${n.mapOver ? ", item" : ""}):`,
      `    """Runs node ${pyDoc(n.node.id)} (task ${pyDoc(n.node.task.name)}) on ${
        pyDoc(n.executor.resource.name)
      } (${pyDoc(n.executor.resource.service)})."""`,
      `    payload = glacier_payload(${callSite(model, n)}, run_id, task_run.run_count, ${
        py(argsOf(n, byId), "    ")
      }, ${n.mapOver ? `f"${n.key}/{item['index']}.out", item` : pyStr(`${n.key}.out`)}, params=params)`,
      `    return ${executorCall(model, n)}`,
    );
  }
  out.push(
    "",
    "",
    `@flow(name=${pyStr(flowName)}, description=${
      pyStr(model.description ?? `Glacier pipeline ${model.pipeline}`)
    })`,
    `def ${ident(flowName)}_flow(params: dict | None = None):`,
    "    params = params or {}",
    "    run_id = str(flow_run.id)",
  );
  for (const n of flow) {
    const waits = `wait_for=deps(${n.inputs.map((i) => f(byId.get(i)!)).join(", ")})`;
    let call: string;
    if (n.mapOver) {
      const source = byId.get(n.mapOver)!;
      out.push(
        `    ${n.key}_items = [`,
        `        {"value": value, "index": index}`,
        `        for index, value in enumerate(glacier_items(${f(source)}.result(), run_id, ${
          pyStr(source.key)
        }))`,
        "    ]",
      );
      call = `${fn(n)}.map(unmapped(run_id), unmapped(params), ${n.key}_items, ${waits})`;
    } else {
      call = `${fn(n)}.submit(run_id, params, ${waits})`;
    }
    out.push(
      n.condition
        ? `    ${f(n)} = ${call} if ${pythonCondition(n.condition)} else None`
        : `    ${f(n)} = ${call}`,
    );
  }
  out.push(`    wait(deps(${flow.map(f).join(", ")}))`);
  out.push(
    "",
    "",
    'if __name__ == "__main__":',
    `    # A deployment of this flow${
      schedule ? ` on the cron schedule "${commentText(schedule)}" (UTC)` : ""
    }, served by this process.`,
    `    ${ident(flowName)}_flow.serve(name=${pyStr(flowName)}${
      schedule ? `, cron=${pyStr(schedule)}` : ""
    })`,
  );
  return out.join("\n") + "\n";
}

function ident(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^(\d)/, "_$1");
}
