/**
 * AWS Step Functions from a pipeline: an Amazon States Language state machine
 * (`state_machine.asl.json`) and the Terraform that deploys it with the
 * pipeline's infrastructure and an EventBridge Scheduler schedule.
 *
 * - Lambda tasks are `arn:aws:states:::lambda:invoke` Task states whose
 *   payload is Glacier's task payload (see `_flow.ts`); outputs stay in the
 *   staging bucket and arguments are references to them, so no state carries
 *   more than a reference past Step Functions' 256 KB cap.
 * - Tasks bound to this machine run on a generated launcher Lambda function
 *   (`glacier-<pipeline>-launcher`, the `glacier build` artifact of resource
 *   `launcher`), which also submits and polls Databricks runs: a Databricks
 *   task is a submit state (`{ submit: "databricks", job, payload }` →
 *   `{ runId }`: the launcher finds the generated job by name and starts it
 *   with `run-now`, the payload as job parameter `payload`, or its staged
 *   `s3://` URI past Databricks' 10,000-byte parameter limit), a Wait, and a
 *   poll state (`{ poll: "databricks", runId }` → `{ state }`: `PENDING`,
 *   `RUNNING` or `SUCCESS`) looped through a Choice. A run that fails makes
 *   the poll throw `GlacierTaskFailed` with the task's remote error (see
 *   `executors/databricks/launch.ts`).
 * - Each stage of the DAG is one state; a stage with several tasks is a
 *   Parallel state. A dynamic fan-out is an inline Map over the list in the
 *   state, or a Distributed Map that reads the staged list with ItemReader
 *   and writes its results to staging with ResultWriter: always past 40
 *   concurrent items, else chosen at run time by a Choice when the list was
 *   staged (over 256 KiB) or has over 1,000 items. A task conditional on a
 *   param is a Choice, and task `retries`, `retryDelay` and `timeout` become
 *   Retry and TimeoutSeconds.
 *
 * @module
 */
import { stagingArn } from "./terraform.ts";
import { type Cond, type FlowNode, OUTPUT_LIMIT_BYTES, PAYLOAD_VERSION, payloadModule } from "./_flow.ts";
import { jobName } from "./_databricks.ts";
import { headerLines, type InfraModel } from "./_model.ts";
import { type Block, block, hclFile, interp, raw, str } from "./_hcl.ts";
import { aslLiteral } from "./_escape.ts";

/** Inline Map runs at most this many items at once; past it a Distributed Map is used. */
export const INLINE_MAP_LIMIT = 40;
/**
 * An inline Map over more items than this runs as a Distributed Map instead:
 * each inline iteration adds about seven events to the execution's history,
 * which Step Functions caps at 25,000.
 */
export const INLINE_MAP_MAX_ITEMS = 1000;
/** How long a Databricks poll loop waits between polls. */
export const DATABRICKS_POLL_SECONDS = 30;
/**
 * The error name of a task that failed on Databricks: the launcher's poll
 * throws it with the remote message, and the Fail state of a run that did
 * not succeed uses it.
 */
export const TASK_FAILED_ERROR = "GlacierTaskFailed";

type State = Record<string, unknown>;
interface Fragment {
  start: string;
  states: Record<string, State>;
}

/** The launcher function name for a model. */
export function launcherName(model: InfraModel): string {
  return model.executors.find((e) => e.resource.name === "launcher")?.name ??
    `glacier-${model.pipeline}-launcher`;
}

/** The state machine's name. */
export function stateMachineName(model: InfraModel): string {
  return `glacier-${model.pipeline}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 80);
}

function stagingUri(model: InfraModel): string {
  return `s3://${model.staging.bucket}/${model.staging.prefix}runs/`;
}

function choiceRule(c: Cond): State {
  const variable = (p: readonly string[]) => `$.params.${p.join(".")}`;
  const present = (p: readonly string[]) => ({ Variable: variable(p), IsPresent: true });
  switch (c.op) {
    case "truthy":
      return {
        And: [present(c.path), {
          Not: {
            Or: [
              { Variable: variable(c.path), IsNull: true },
              { Variable: variable(c.path), BooleanEquals: false },
              { Variable: variable(c.path), StringEquals: "" },
              { Variable: variable(c.path), NumericEquals: 0 },
            ],
          },
        }],
      };
    case "not":
      return { Not: choiceRule(c.c) };
    case "and":
      return { And: [choiceRule(c.a), choiceRule(c.b)] };
    case "or":
      return { Or: [choiceRule(c.a), choiceRule(c.b)] };
    case "eq":
    case "ne": {
      const v = c.value;
      const test = v === null
        ? { Variable: variable(c.path), IsNull: true }
        : typeof v === "boolean"
        ? { Variable: variable(c.path), BooleanEquals: v }
        : typeof v === "number"
        ? { Variable: variable(c.path), NumericEquals: v }
        : { Variable: variable(c.path), StringEquals: v };
      const rule = { And: [present(c.path), test] };
      return c.op === "eq" ? rule : { Not: rule };
    }
  }
}

/**
 * Renders the state machine.
 *
 * @param model The infrastructure model (with the launcher function).
 * @param flow The flow nodes in topological order.
 * @returns The ASL definition as an object.
 */
export function stateMachine(model: InfraModel, flow: readonly FlowNode[]): Record<string, unknown> {
  const byId = new Map(flow.map((n) => [n.node.id, n]));
  const launcher = launcherName(model);
  const staging = stagingUri(model);
  // Map sources keep their (inline) result in the state, at this path.
  const sourcePath = new Map<string, string>();
  const sources = new Set(flow.map((n) => n.mapOver).filter((x): x is string => !!x));

  const payload = (n: FlowNode, mapped: boolean): State => {
    const args = n.inputs
      .filter((i) => i !== n.mapOver)
      .map((i) => {
        const up = byId.get(i)!;
        return up.mapOver ? { $refs: `${up.key}/` } : { $ref: `${up.key}.out` };
      });
    return {
      version: PAYLOAD_VERSION,
      pipeline: model.pipeline,
      ...(mapped ? { "runId.$": "$.runId" } : { "runId.$": "$$.Execution.Name" }),
      nodeId: n.node.id,
      task: n.node.task.name,
      module: payloadModule(model, n),
      source: model.source,
      "attempt.$": "States.MathAdd($$.State.RetryCount, 1)",
      args,
      "params.$": "$.params",
      ...(mapped
        ? {
          "item.$": "$.item",
          "staging.$": "$.staging",
          "output.$": `States.Format('${aslLiteral(n.key)}/{}.out', $.item.index)`,
        }
        : {
          "staging.$": `States.Format('${aslLiteral(staging)}{}/', $$.Execution.Name)`,
          output: `${n.key}.out`,
        }),
      outputLimitBytes: OUTPUT_LIMIT_BYTES,
      ...(n.via === "local" ? { executor: "local" } : {}),
    };
  };
  const retry = (n: FlowNode): State[] => [
    {
      ErrorEquals: [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
      ],
      IntervalSeconds: 2,
      MaxAttempts: 6,
      BackoffRate: 2,
    },
    ...(n.retries > 0
      ? [{
        ErrorEquals: ["States.ALL"],
        IntervalSeconds: Math.max(1, Math.round(n.retryDelayMs / 1000)),
        MaxAttempts: n.retries,
        BackoffRate: 2,
      }]
      : []),
  ];
  const invoke = (fn: string, body: State, extra: State): State => ({
    Type: "Task",
    Resource: "arn:aws:states:::lambda:invoke",
    Parameters: { FunctionName: fn, Payload: body },
    ...extra,
  });

  // The states of one call: a Task, or the Databricks submit/poll loop. A
  // mapped call (`item` names its states: names are unique across the
  // machine) ends its iteration with an empty output, since a Map collects
  // every iteration's output and Step Functions counts that against the
  // 256 KiB state limit whatever the Map's ResultPath.
  const call = (n: FlowNode, item: string | null, next: string | null, catchTo?: string): Fragment => {
    const mapped = item !== null;
    const id = item ?? n.node.id;
    const end = next === null ? { End: true } : { Next: next };
    const discard = mapped ? { OutputPath: null } : {};
    const catcher = catchTo
      ? { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: catchTo }] }
      : {};
    const timeout = n.timeoutMs !== undefined
      ? { TimeoutSeconds: Math.max(1, Math.ceil(n.timeoutMs / 1000)) }
      : {};
    const keep = sources.has(n.node.id);
    if (n.via === "databricks") {
      const status = `$.databricks.${n.key}`;
      return {
        start: id,
        states: {
          [id]: invoke(launcher, {
            submit: "databricks",
            job: jobName(n.executor, n.node.id),
            payload: payload(n, mapped),
          }, {
            ResultSelector: { "runId.$": "$.Payload.runId" },
            ResultPath: status,
            Retry: retry(n),
            ...catcher,
            Next: `${id} (wait)`,
          }),
          [`${id} (wait)`]: { Type: "Wait", Seconds: DATABRICKS_POLL_SECONDS, Next: `${id} (poll)` },
          [`${id} (poll)`]: invoke(launcher, { poll: "databricks", [`runId.$`]: `${status}.runId` }, {
            ResultSelector: { "state.$": "$.Payload.state" },
            ResultPath: `${status}.poll`,
            Retry: retry({ ...n, retries: 0 }),
            ...catcher,
            Next: `${id} (done?)`,
          }),
          [`${id} (done?)`]: {
            Type: "Choice",
            Choices: [
              // A Choice rule cannot end the machine: a last call succeeds through a Succeed state.
              {
                Variable: `${status}.poll.state`,
                StringEquals: "SUCCESS",
                Next: next ?? `${id} (succeeded)`,
              },
              {
                Or: [
                  { Variable: `${status}.poll.state`, StringEquals: "PENDING" },
                  { Variable: `${status}.poll.state`, StringEquals: "RUNNING" },
                ],
                Next: `${id} (wait)`,
              },
            ],
            Default: `${id} (failed)`,
          },
          ...(next === null ? { [`${id} (succeeded)`]: { Type: "Succeed", ...discard } } : {}),
          [`${id} (failed)`]: {
            Type: "Fail",
            Error: TASK_FAILED_ERROR,
            Cause: `Databricks run of node "${n.node.id}" did not succeed`,
          },
        },
      };
    }
    const fn = n.via === "local" ? launcher : n.executor.name;
    return {
      start: id,
      states: {
        [id]: invoke(fn, payload(n, mapped), {
          ...(keep
            ? { ResultSelector: { "value.$": "$.Payload" }, ResultPath: `$.results.${n.key}` }
            : { ResultPath: null, ...discard }),
          ...timeout,
          Retry: retry(n),
          ...catcher,
          ...end,
        }),
      },
    };
  };

  // One node: its call, a Map around it when mapped, a Choice before it when conditional.
  //
  // A fan-out over a list the state carries is an inline Map over it. The
  // producer's output is always staged too (`<key>.out`, a JSON array), and
  // past OUTPUT_LIMIT_BYTES the state only has its `{ "$ref": <uri> }`: then,
  // as when the list has more than INLINE_MAP_MAX_ITEMS items, when the
  // concurrency asks for more than an inline Map runs, or when the producer
  // ran on Databricks (its output never enters the state), the fan-out is a
  // Distributed Map that reads the staged array with ItemReader and writes
  // its child executions' results back to staging with ResultWriter, so no
  // list of any size passes through the state. Where either can happen a
  // Choice picks the Map at run time; both run the same item processor.
  const unit = (n: FlowNode, next: string | null, catchTo?: string): Fragment => {
    const end = next === null ? { End: true } : { Next: next };
    let fragment: Fragment;
    if (n.mapOver) {
      const source = byId.get(n.mapOver)!;
      const concurrency = typeof n.executor.config.concurrency === "number"
        ? n.executor.config.concurrency
        : INLINE_MAP_LIMIT;
      const inState = concurrency <= INLINE_MAP_LIMIT && source.via !== "databricks";
      const value = `${sourcePath.get(source.node.id)}.value`;
      const runKey = (suffix: string) =>
        `States.Format('${aslLiteral(model.staging.prefix)}runs/{}/${
          aslLiteral(suffix)
        }', $$.Execution.Name)`;
      const map = (item: string, distributed: boolean): State => {
        const inner = call(n, item, null);
        return {
          Type: "Map",
          ...(distributed
            ? {
              ItemReader: {
                Resource: "arn:aws:states:::s3:getObject",
                ReaderConfig: { InputType: "JSON" },
                Parameters: { Bucket: model.staging.bucket, "Key.$": runKey(`${source.key}.out`) },
              },
            }
            : { ItemsPath: value }),
          ItemSelector: {
            item: { "value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index" },
            "runId.$": "$$.Execution.Name",
            "params.$": "$.params",
            "staging.$": `States.Format('${aslLiteral(staging)}{}/', $$.Execution.Name)`,
          },
          ItemProcessor: {
            ProcessorConfig: distributed
              ? { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" }
              : { Mode: "INLINE" },
            StartAt: inner.start,
            States: inner.states,
          },
          MaxConcurrency: concurrency,
          ...(distributed
            ? {
              ResultWriter: {
                Resource: "arn:aws:states:::s3:putObject",
                Parameters: { Bucket: model.staging.bucket, "Prefix.$": runKey(`${n.key}.map`) },
              },
            }
            : {}),
          ResultPath: null,
          ...(catchTo
            ? { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: catchTo }] }
            : {}),
          ...end,
        };
      };
      if (!inState) {
        fragment = { start: n.node.id, states: { [n.node.id]: map(`${n.node.id} (item)`, true) } };
      } else {
        const choose = `${n.node.id} (inline?)`;
        const large = `${n.node.id} (distributed)`;
        fragment = {
          start: choose,
          states: {
            [choose]: {
              Type: "Choice",
              Comment:
                `Maps "${n.node.id}" over the list of "${source.node.id}" inline, or with a Distributed Map reading it from staging when it was staged (over ${
                  OUTPUT_LIMIT_BYTES / 1024
                } KiB) or has over ${INLINE_MAP_MAX_ITEMS} items`,
              Choices: [{
                Or: [
                  { Variable: `${value}['$ref']`, IsPresent: true },
                  { Variable: `${value}[${INLINE_MAP_MAX_ITEMS}]`, IsPresent: true },
                ],
                Next: large,
              }],
              Default: n.node.id,
            },
            [n.node.id]: map(`${n.node.id} (item)`, false),
            [large]: map(`${n.node.id} (distributed item)`, true),
          },
        };
      }
    } else {
      fragment = call(n, null, next, catchTo);
    }
    if (!n.condition) return fragment;
    const skip = `${n.node.id} (skipped)`;
    return {
      start: `${n.node.id} (if)`,
      states: {
        [`${n.node.id} (if)`]: {
          Type: "Choice",
          Comment: `Runs "${n.node.id}" only if ${n.node.condition}`,
          Choices: [{ ...choiceRule(n.condition), Next: fragment.start }],
          Default: skip,
        },
        ...fragment.states,
        [skip]: { Type: "Pass", ...end },
      },
    };
  };

  // Stages: each node after the latest of its inputs.
  const stageOf = new Map<string, number>();
  for (const n of flow) {
    stageOf.set(n.node.id, Math.max(-1, ...n.inputs.map((i) => stageOf.get(i)!)) + 1);
  }
  const stages: FlowNode[][] = [];
  for (const n of flow) (stages[stageOf.get(n.node.id)!] ??= []).push(n);

  const states: Record<string, State> = {};
  const FAILED = "PipelineFailed";
  const names: string[] = stages.map((stage, i) => stage.length === 1 ? "" : `Stage ${i + 1}`);
  stages.forEach((stage, i) => {
    for (const n of stage) {
      if (sources.has(n.node.id)) {
        sourcePath.set(n.node.id, stage.length === 1 ? `$.results.${n.key}` : `$.stages.s${i + 1}.${n.key}`);
      }
    }
  });
  // Build back to front so each stage knows the state that follows it.
  let next: string | null = null;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    if (stage.length === 1) {
      const f = unit(stage[0], next, FAILED);
      Object.assign(states, f.states);
      next = f.start;
      continue;
    }
    const selector: Record<string, string> = {};
    stage.forEach((n, b) => {
      // A Databricks run's output never enters the state (its fan-out reads it from staging).
      if (sources.has(n.node.id) && n.via !== "databricks") {
        selector[`${n.key}.$`] = `$[${b}].results.${n.key}`;
      }
    });
    const resultPath = Object.keys(selector).length ? `$.stages.s${i + 1}` : null;
    states[names[i]] = {
      Type: "Parallel",
      Comment: `Runs ${stage.map((n) => `"${n.node.id}"`).join(", ")} at once`,
      Branches: stage.map((n) => {
        const f = unit(n, null);
        return { StartAt: f.start, States: f.states };
      }),
      ...(resultPath ? { ResultSelector: selector } : {}),
      ResultPath: resultPath,
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: FAILED }],
      ...(next === null ? { End: true } : { Next: next }),
    };
    next = names[i];
  }
  // Reached only through a Catch, which put the failed state's error at $.error:
  // the execution fails with the task's own error and cause, not a generic one.
  states[FAILED] = {
    Type: "Fail",
    Comment: `A task of pipeline "${model.pipeline}" failed: the execution fails with its error and cause`,
    ErrorPath: "$.error.Error",
    CausePath: "$.error.Cause",
  };
  return {
    Comment:
      `Glacier pipeline ${model.pipeline} (generated by Glacier ${model.version} from ${model.source}). Input: {"params": {...}}.`,
    StartAt: next!,
    States: sortStates(states),
  };
}

// States sorted by name: the same pipeline always gives the same text.
function sortStates(states: Record<string, State>): Record<string, State> {
  return Object.fromEntries(Object.keys(states).sort().map((k) => [k, states[k]]));
}

/**
 * `step_functions.tf`: the state machine (its definition read from the ASL
 * file beside it), the EventBridge Scheduler schedules and their role, and
 * what a Distributed Map needs.
 *
 * @param model The infrastructure model (with the launcher function).
 * @param flow The flow.
 * @param expressions EventBridge `cron(...)` expressions; none for no schedule.
 * @returns The file's text.
 */
export function stepFunctionsTerraform(
  model: InfraModel,
  flow: readonly FlowNode[],
  expressions: readonly string[],
): string {
  // Any fan-out may run as a Distributed Map (see stateMachine).
  const distributed = flow.some((n) => n.mapOver);
  const name = stateMachineName(model);
  const assume = (service: string) =>
    raw(
      `jsonencode({\n  Version = "2012-10-17"\n  Statement = [{ Effect = "Allow", Principal = { Service = "${service}" }, Action = "sts:AssumeRole" }]\n})`,
    );
  const blocks: Block[] = [
    block("data", ["aws_caller_identity", "current"], []),
    block("resource", ["aws_sfn_state_machine", "pipeline"], [
      ["name", name],
      ["type", "STANDARD"],
      ["role_arn", raw("aws_iam_role.orchestrator.arn")],
      ["definition", raw('file("${path.module}/state_machine.asl.json")')],
    ], 'The pipeline\'s state machine; input {"params": {...}}.'),
  ];
  if (distributed) {
    const self = `arn:aws:states:\${var.region}:\${data.aws_caller_identity.current.account_id}`;
    blocks.push(block(
      "resource",
      ["aws_iam_role_policy", "orchestrator_distributed_map"],
      [
        ["name", "glacier-distributed-map"],
        ["role", raw("aws_iam_role.orchestrator.id")],
        [
          "policy",
          raw(`jsonencode({
  Version = "2012-10-17"
  Statement = [
    {
      Sid = "RunChildExecutions"
      Effect = "Allow"
      Action = ["states:StartExecution"]
      Resource = ["${self}:stateMachine:${name}"]
    },
    {
      Sid = "ManageChildExecutions"
      Effect = "Allow"
      Action = ["states:DescribeExecution", "states:StopExecution"]
      Resource = ["${self}:execution:${name}/*"]
    },
    {
      Sid = "ReadMapItemsWriteResults"
      Effect = "Allow"
      Action = ["s3:GetObject", "s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
      Resource = ["\${${stagingArn(model)}}/${str(`${model.staging.prefix}runs/*`).slice(1, -1)}"]
    },
  ]
})`),
        ],
      ],
      "A Distributed Map starts child executions of this state machine, reads its items from staging and writes its results there.",
    ));
  }
  if (expressions.length) {
    blocks.push(
      block("resource", ["aws_iam_role", "scheduler"], [
        ["name", `${name}-scheduler`.slice(0, 64)],
        ["assume_role_policy", assume("scheduler.amazonaws.com")],
      ]),
      block("resource", ["aws_iam_role_policy", "scheduler"], [
        ["name", "glacier-start-pipeline"],
        ["role", raw("aws_iam_role.scheduler.id")],
        [
          "policy",
          raw(`jsonencode({
  Version = "2012-10-17"
  Statement = [{
    Sid = "StartPipeline"
    Effect = "Allow"
    Action = ["states:StartExecution"]
    Resource = [aws_sfn_state_machine.pipeline.arn]
  }]
})`),
        ],
      ]),
      ...expressions.map((expression, i) =>
        block("resource", ["aws_scheduler_schedule", i === 0 ? "pipeline" : `pipeline_${i + 1}`], [
          ["name", `${name}${i === 0 ? "" : `-${i + 1}`}`.slice(0, 64)],
          ["description", `Runs pipeline ${model.pipeline} on "${model.schedule}" (UTC)`],
          ["schedule_expression", expression],
          ["schedule_expression_timezone", "UTC"],
          block("flexible_time_window", [], [["mode", "OFF"]]),
          block("target", [], [
            ["arn", raw("aws_sfn_state_machine.pipeline.arn")],
            ["role_arn", raw("aws_iam_role.scheduler.arn")],
            ["input", raw("jsonencode({ params = {} })")],
          ]),
        ])
      ),
    );
  }
  blocks.push(
    block("output", ["state_machine_arn"], [["value", raw("aws_sfn_state_machine.pipeline.arn")]]),
    block("output", ["console_url"], [[
      "value",
      interp(
        "https://",
        raw("var.region"),
        ".console.aws.amazon.com/states/home?region=",
        raw("var.region"),
        "#/statemachines/view/",
        raw("aws_sfn_state_machine.pipeline.arn"),
      ),
    ]]),
  );
  return hclFile(headerLines(model), blocks);
}
