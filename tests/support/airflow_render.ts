// Runs a generated Airflow DAG module as Airflow runs it, with Airflow stubbed:
// every operator is recorded with the task group it was created in, a mapped
// task group (`@task_group ... .expand()`) and a mapped operator
// (`Op.partial(...).expand(...)`) are expanded by calling the @task that gives
// their list with a context of its own (its try number, map index -1), the
// list goes through XCom (JSON), and each operator's real template_fields are
// rendered with Jinja for each task instance, in that instance's context (its
// own try number and map index). A value expanded from XCom is never rendered
// (Airflow marks it seen); every other templated field is.
import { findJinjaPython, runPython } from "../src/codegen/_injection.ts";

/**
 * The templated fields of the operators Glacier generates, as their sources declare them
 * (apache-airflow-providers-amazon: aws_template_fields adds aws_conn_id, region_name and verify;
 * -databricks, -ssh; airflow.operators.bash).
 */
export const TEMPLATE_FIELDS = {
  LambdaInvokeFunctionOperator: [
    "aws_conn_id",
    "function_name",
    "invocation_type",
    "payload",
    "qualifier",
    "region_name",
    "verify",
  ],
  DatabricksSubmitRunOperator: ["json", "databricks_conn_id"],
  SSHOperator: ["command", "environment", "remote_host"],
  BashOperator: ["bash_command", "env", "cwd"],
};

/** An operator Glacier generates. */
export type AirflowOperator = keyof typeof TEMPLATE_FIELDS;

/** What one task instance sends. */
export interface RenderedTask {
  readonly operator: AirflowOperator;
  readonly task: string;
  /** The field that carries the Glacier payload (`payload`, `json`, `command`, `bash_command`). */
  readonly field: string;
  /** That field's final value: rendered, or (expanded from XCom) as the @task returned it. */
  readonly value: unknown;
  /** The other template fields, rendered. */
  readonly rendered: Record<string, unknown>;
  /** The payload JSON text taken from the field (the launcher's last parameter, the command's last word). */
  readonly payloadText: string;
}

/** What one mapped task instance sends. */
export interface MappedTask extends RenderedTask {
  /** The upstream XCom value the list came from. */
  readonly listing: unknown;
  /** The @task that gave the list. */
  readonly itemsTask: string;
  /** The map index. */
  readonly index: number;
  /** The staged objects the @task read (`[bucket, key]`). */
  readonly s3Reads: [string, string][];
}

/** How the DAG is run. */
export interface AirflowRunOptions {
  /** The DAG run's id. */
  readonly runId: string;
  /** The DAG run's conf (the pipeline's params). */
  readonly conf: Record<string, unknown>;
  /** The try number of each @task that gives a mapped list. */
  readonly itemsTry: number;
  /** The try number of every other task instance (mapped ones included). */
  readonly taskTry: number;
  /** The upstream XCom values mapped calls expand over, one run of the mapping each. @default {[]} */
  readonly listings?: readonly unknown[];
  /** What the stubbed S3Hook reads for a staged list. @default {null} */
  readonly staged?: unknown;
}

/** What the run gives: the unmapped task instances, and the mapped ones for each listing. */
export interface AirflowRun {
  readonly plain: RenderedTask[];
  readonly mapped: MappedTask[];
}

const PROGRAM = String.raw`
import importlib.abc, importlib.machinery, json, shlex, sys, types
import jinja2, jinja2.sandbox

inp = json.load(sys.stdin)
TEMPLATE_FIELDS = inp["templateFields"]
FIELDS = {
    "LambdaInvokeFunctionOperator": "payload",
    "DatabricksSubmitRunOperator": "json",
    "SSHOperator": "command",
    "BashOperator": "bash_command",
}
PLAIN = []
GROUPS = []
PARTIALS = []
OPEN_GROUPS = []
S3_READS = []
CONTEXT = {}

class Stub:
    def __init__(self, *a, **k): pass
    def __call__(self, *a, **k): return Stub()
    def __getattr__(self, name): return Stub()
    def __enter__(self): return self
    def __exit__(self, *a): return False
    def __rshift__(self, other): return other
    def __rrshift__(self, other): return self

class XComArg:
    def __init__(self, task, args): self.task, self.args = task, args

class TaskFunction:
    def __init__(self, fn, task_id): self.fn, self.task_id = fn, task_id
    def __call__(self, *args): return XComArg(self, args)

def task(task_id=None, **kwargs):
    return lambda fn: TaskFunction(fn, task_id)

class MappedArgument:
    """What a task group function is called with: a reference, resolved only when given to a task."""

class TaskGroupFunction:
    def __init__(self, fn, kwargs): self.fn, self.kwargs = fn, kwargs
    def __call__(self, *a, **k): raise AssertionError("a task group called without expand() is not mapped")
    def expand(self, **kwargs):
        (name, arg), = kwargs.items()
        members = []
        OPEN_GROUPS.append(members)
        try:
            retval = self.fn(**{name: MappedArgument()})
        finally:
            OPEN_GROUPS.pop()
        GROUPS.append((self.kwargs, arg, members))
        return retval if retval is not None else Stub()

def task_group(python_callable=None, **kwargs):
    return lambda fn: TaskGroupFunction(fn, kwargs)

class Operator:
    template_fields = ()
    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.output = XComArg(self, ())
        (OPEN_GROUPS[-1] if OPEN_GROUPS else PLAIN).append(self)
    def __rshift__(self, other): return other
    def __rrshift__(self, other): return self
    @classmethod
    def partial(cls, **kwargs): return Partial(cls, kwargs)

class Partial:
    def __init__(self, cls, kwargs): self.cls, self.kwargs = cls, kwargs
    def expand(self, **kwargs):
        PARTIALS.append((self.cls, self.kwargs, kwargs))
        return Stub()

class S3Hook:
    def read_key(self, key, bucket_name=None):
        S3_READS.append([bucket_name, key])
        return json.dumps(inp["staged"])

MODULES = {
    "airflow.decorators": {"task": task, "task_group": task_group},
    "airflow.operators.python": {
        "get_current_context": lambda: CONTEXT,
        "ShortCircuitOperator": type("ShortCircuitOperator", (Operator,), {}),
    },
    "airflow.providers.amazon.aws.hooks.s3": {"S3Hook": S3Hook},
}
OPERATOR_MODULES = {
    "BashOperator": "airflow.operators.bash",
    "LambdaInvokeFunctionOperator": "airflow.providers.amazon.aws.operators.lambda_function",
    "DatabricksSubmitRunOperator": "airflow.providers.databricks.operators.databricks",
    "SSHOperator": "airflow.providers.ssh.operators.ssh",
}
for name, module in OPERATOR_MODULES.items():
    MODULES.setdefault(module, {})[name] = type(name, (Operator,), {"template_fields": tuple(TEMPLATE_FIELDS[name])})

class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("airflow", "pendulum"):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        for attr, value in MODULES.get(spec.name, {}).items():
            setattr(module, attr, value)
        module.__getattr__ = lambda attr: Stub()
        return module
    def exec_module(self, module): pass

sys.meta_path.insert(0, Finder())
exec(compile(inp["source"], "generated.py", "exec"), {"__name__": "generated"})

# Airflow's environment: sandboxed, StrictUndefined (a DAG's default template_undefined).
env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
def render(value, context):
    if isinstance(value, MappedArgument):
        raise AssertionError("a task group's argument given to an operator is resolved, never rendered")
    if isinstance(value, str):
        return env.from_string(value).render(**context)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render(v, context) for v in value]
    return value

def context(try_number, map_index):
    CONTEXT.clear()
    CONTEXT.update({
        "run_id": inp["runId"],
        "ti": types.SimpleNamespace(try_number=try_number, map_index=map_index),
        "dag_run": types.SimpleNamespace(conf=inp["conf"]),
        "params": inp["conf"],
    })
    return CONTEXT

def payload_of(cls, value):
    if cls.__name__ == "DatabricksSubmitRunOperator":
        return value["tasks"][0]["spark_python_task"]["parameters"][-1]
    if cls.__name__ == "LambdaInvokeFunctionOperator":
        return value
    return shlex.split(value)[-1]

def instance(cls, kwargs, ctx, expanded=None):
    field = FIELDS[cls.__name__]
    rendered = {f: render(kwargs[f], ctx) for f in cls.template_fields if f in kwargs and f != expanded}
    value = kwargs[field] if field == expanded else rendered[field]
    return {
        "operator": cls.__name__,
        "task": kwargs["task_id"],
        "field": field,
        "value": value,
        "rendered": {f: v for f, v in rendered.items() if f != field},
        "payloadText": payload_of(cls, value),
    }

def items(arg, listing):
    context(inp["itemsTry"], -1)
    return json.loads(json.dumps(arg.task.fn(*[listing for _ in arg.args])))  # through XCom

plain = [
    instance(type(op), op.kwargs, context(inp["taskTry"], -1))
    for op in PLAIN if type(op).__name__ in FIELDS
]
mapped = []
for listing in inp["listings"]:
    for _, arg, members in GROUPS:
        S3_READS.clear()
        for index, _ in enumerate(items(arg, listing)):
            for op in members:
                call = instance(type(op), op.kwargs, context(inp["taskTry"], index))
                mapped.append(dict(call, listing=listing, itemsTask=arg.task.task_id, index=index, s3Reads=list(S3_READS)))
    for cls, partial, expand in PARTIALS:
        S3_READS.clear()
        (field, arg), = expand.items()
        for index, value in enumerate(items(arg, listing)):
            call = instance(cls, dict(partial, **{field: value}), context(inp["taskTry"], index), expanded=field)
            mapped.append(dict(call, listing=listing, itemsTask=arg.task.task_id, index=index, s3Reads=list(S3_READS)))
print(json.dumps({"plain": plain, "mapped": mapped}))
`;

/**
 * Runs a generated DAG module with Airflow stubbed and renders what each task instance sends.
 *
 * @param source The DAG file.
 * @param options The run's id, conf, try numbers and the listings to map over.
 * @returns The unmapped task instances, and the mapped ones per listing.
 */
export async function runAirflowDag(source: string, options: AirflowRunOptions): Promise<AirflowRun> {
  return await runPython(await findJinjaPython(), PROGRAM, {
    source,
    templateFields: TEMPLATE_FIELDS,
    runId: options.runId,
    conf: options.conf,
    itemsTry: options.itemsTry,
    taskTry: options.taskTry,
    listings: options.listings ?? [],
    staged: options.staged ?? null,
  }) as AirflowRun;
}
