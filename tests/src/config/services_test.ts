// The service table is the one place a service's facts live: every service has
// each fact stated, the config classes take their defaults and limits from it,
// the prices it names exist, and analysis, cost and the executors read it.
import assert from "node:assert/strict";
import { AwsConfig, AzureConfig, GcpConfig, Provider } from "../../../mod.ts";
import { PipelineDAG } from "../../../src/dag.ts";
import { PipelineAnalysis } from "../../../src/analyze/analysis.ts";
import { PRICES } from "../../../src/analyze/pricing.ts";
import {
  type ConfiguredService,
  type Service,
  SERVICE_NAMES,
  serviceCloud,
  type ServiceRecord,
  serviceRecord,
  SERVICES,
} from "../../../src/config/services.ts";
import type { ExecutionResource } from "../../../src/resources/execution.ts";
import { CONFIG_SERVICES, SERVICE_CONFIGS, serviceConfig } from "../../../src/config/service_configs.ts";
import type { ExecutionConfig } from "../../../src/config/types.ts";
import { resourceFromInfo } from "../../../src/resources/_from_info.ts";
import { LAMBDA_PAYLOAD_CAP, LAMBDA_ZIP_UPLOAD_CAP } from "../../../executors/lambda/executor.ts";
import { LAMBDA_UNZIPPED_LIMIT } from "../../../executors/lambda/build.ts";
import { CLOUD_FUNCTION_PAYLOAD_CAP } from "../../../executors/cloud_function/executor.ts";
import { AZURE_FUNCTION_PAYLOAD_CAP } from "../../../executors/azure_function/executor.ts";

// The fewest options each config class takes. Typed over every configured service:
// a new table entry does not compile here until it says how to build its config.
const MINIMAL: { readonly [S in ConfiguredService]: Record<string, unknown> } = {
  lambda: {},
  ec2: {},
  emr: { clusterId: "j-2AXXXXXXGAPLF" },
  "cloud-function": {},
  "compute-engine": {},
  dataproc: { cluster: "etl-cluster" },
  "azure-function": {},
  "azure-vm": {},
  databricks: { clusterId: "0101-123456-abcdefgh" },
  spark: {},
};

// Where a limit of the table is not a plain top-level field.
const LIMIT_OPTIONS: Record<string, (value: number) => Record<string, unknown>> = {
  "azure-function.memory": (memory) => ({ plan: "premium", memory }),
  "azure-function.consumptionTimeout": (timeout) => ({ plan: "consumption", timeout }),
  "databricks.numWorkers": (numWorkers) => ({
    clusterId: undefined,
    newCluster: { sparkVersion: "15.4.x-scala2.12", nodeTypeId: "i3.xlarge", numWorkers },
  }),
};

function build(service: ConfiguredService, options: Record<string, unknown> = {}): ExecutionConfig {
  return new SERVICE_CONFIGS[service]({ ...MINIMAL[service], ...options } as never);
}

const providers = {
  aws: new Provider({ config: new AwsConfig() }),
  gcp: new Provider({ config: new GcpConfig({ project: "my-project" }) }),
  azure: new Provider({ config: new AzureConfig() }),
};

// A resource of the service, from a provider of its cloud (AWS for any-cloud services).
function resourceOf(service: Service): ExecutionResource {
  const r = SERVICES[service];
  const provider = providers[r.cloud ?? "aws"];
  if (service === "local") return provider.local();
  const config = build(service) as never;
  return r.kind === "serverless"
    ? provider.serverless({ config })
    : r.kind === "vm"
    ? provider.vm({ config })
    : provider.cluster({ config });
}

Deno.test("every service states each fact: kind, cloud or none, config class, runtime, payload cap, pricing, adapter, artifact", () => {
  assert.ok(SERVICE_NAMES.length >= 11, `only ${SERVICE_NAMES}`);
  assert.ok(Object.isFrozen(SERVICES) && Object.isFrozen(SERVICES.lambda.limits.timeout));
  const noAdapter: Service[] = [];
  for (const service of SERVICE_NAMES) {
    const r = serviceRecord(service)!;
    assert.ok(["local", "serverless", "vm", "cluster"].includes(r.kind), service);
    assert.ok(r.cloud === null || ["aws", "gcp", "azure"].includes(r.cloud), service);
    assert.equal(serviceCloud(service), r.cloud ?? undefined);
    assert.ok(r.runtime.startsWith("Deno "), `${service}: runtime ${r.runtime}`);
    assert.ok(r.payloadCap === null || (Number.isInteger(r.payloadCap) && r.payloadCap > 0), service);
    assert.ok(r.pricing.model, service);
    if (r.pricing.model === "unpriced") {
      assert.ok(r.pricing.reason, `${service} is unpriced without a reason`);
    }
    if (r.adapter === null) noAdapter.push(service);
    // What glacier build makes and how orchestrators reach it are stated, even when null.
    assert.ok("artifact" in r && "flow" in r && "launcher" in r && "entry" in r, service);
    // A function service states how it starts the artifact it deploys.
    assert.equal(r.entry !== null, r.kind === "serverless", `${service}: entry ${JSON.stringify(r.entry)}`);
    for (const [limit, bytes] of Object.entries(r.codeLimits)) {
      assert.ok(Number.isInteger(bytes) && bytes > 0, `${service}.codeLimits.${limit}`);
    }
    if (r.kind === "local") {
      assert.equal(r.config, null);
      assert.equal(serviceConfig(service), undefined);
    } else {
      assert.equal(serviceConfig(service), SERVICE_CONFIGS[service as ConfiguredService]);
      assert.equal(serviceConfig(service)!.name, r.config, `${service}'s class is not ${r.config}`);
    }
  }
  // This machine runs on the wiring's local pool; a self-managed Spark cluster has no executor yet.
  assert.deepEqual(noAdapter, ["local", "spark"]);
  assert.deepEqual(CONFIG_SERVICES, SERVICE_NAMES.filter((s) => s !== "local"));
  assert.equal(serviceRecord("mainframe"), undefined);
  assert.equal(serviceRecord("toString"), undefined);
});

Deno.test("each config class is its service's, of its kind and clouds, with the table's defaults", () => {
  for (const service of CONFIG_SERVICES) {
    const r = SERVICES[service];
    const config = build(service);
    assert.equal(config.service, service);
    assert.equal(config.kind, r.kind, service);
    assert.deepEqual(config.clouds, r.cloud ? [r.cloud] : ["aws", "gcp", "azure"], service);
    for (const [field, value] of Object.entries(r.defaults)) {
      assert.equal((config as unknown as Record<string, unknown>)[field], value, `${service}.${field}`);
    }
    // Bound from a provider of its cloud, and rebuilt from its plain data.
    const resource = resourceOf(service);
    assert.deepEqual(resourceFromInfo(resource.info(), resource.cloud).config, config, service);
  }
});

Deno.test("each config class checks the table's limits and choices", () => {
  for (const service of CONFIG_SERVICES) {
    const r = SERVICES[service];
    for (const [field, range] of Object.entries(r.limits)) {
      const options = LIMIT_OPTIONS[`${service}.${field}`] ?? ((v: number) => ({ [field]: v }));
      build(service, options(range.max));
      build(service, options(range.min));
      for (const outside of [range.max + 1, range.min - 1]) {
        assert.throws(
          () => build(service, options(outside)),
          RangeError,
          `${service}.${field} = ${outside} is outside ${range.min}-${range.max}`,
        );
      }
    }
    for (const [field, values] of Object.entries(r.choices)) {
      if (field === "flexMemory") continue; // checked below
      for (const value of values) build(service, { [field]: value });
      assert.throws(() => build(service, { [field]: "no-such-value" }), RangeError, `${service}.${field}`);
    }
  }
  for (const memory of SERVICES["azure-function"].choices.flexMemory) build("azure-function", { memory });
  assert.throws(() => build("azure-function", { plan: "flex", memory: 1024 }), RangeError);
});

Deno.test("every price the table names is in the dated price table", () => {
  for (const service of SERVICE_NAMES) {
    for (const [role, key] of Object.entries(SERVICES[service].pricing.prices)) {
      let value: unknown = PRICES;
      for (const part of key.split(".")) value = (value as Record<string, unknown>)?.[part];
      const ok = typeof value === "number" ||
        (typeof value === "object" && value !== null &&
          Object.values(value).every((v) => typeof v === "number"));
      assert.ok(ok, `${service}: "${role}" names ${key}, which is no price`);
    }
  }
});

Deno.test("analysis and cost read the table: runtime, sizing, a price line or stated reason per service, payload caps", async () => {
  for (const service of SERVICE_NAMES) {
    const r: ServiceRecord = SERVICES[service];
    const executor = resourceOf(service);
    const dag = new PipelineDAG("p", [{ id: "a", task: { name: "a" }, executor }]);
    const facts = new Map([["a", { options: { estimate: { durationMs: 3_600_000 } } }]]);
    const analysis = new PipelineAnalysis(dag, "trace", [], { facts });
    const [requirements] = analysis.requirements;
    assert.equal(requirements.runtime, r.runtime, service);
    const config = executor.info().config as Record<string, unknown>;
    if (r.sizing.memory) assert.equal(requirements.memoryMb, config[r.sizing.memory], service);
    if (r.sizing.timeout) assert.equal(requirements.timeoutSeconds, config[r.sizing.timeout], service);
    if (r.sizing.nodes) assert.equal(requirements.nodeCount, config[r.sizing.nodes], service);
    if (r.sizing.machine && !r.sizing.machine.includes(".")) {
      assert.equal(requirements.machine, config[r.sizing.machine], service);
    }
    const cost = await analysis.estimateCost({ runsDir: false });
    const lines = cost.lines.filter((l) => l.executor === executor.name);
    if (r.pricing.model === "free") assert.deepEqual(lines, [], service);
    else if (r.pricing.model === "unpriced") {
      assert.ok(cost.assumptions.some((a) => a.includes(r.pricing.reason!)), service);
    } else assert.ok(lines.length > 0 && lines.every((l) => l.perRun > 0), `${service} is not priced`);
  }
  assert.equal(LAMBDA_PAYLOAD_CAP, SERVICES.lambda.payloadCap);
  assert.equal(CLOUD_FUNCTION_PAYLOAD_CAP, SERVICES["cloud-function"].payloadCap);
  assert.equal(AZURE_FUNCTION_PAYLOAD_CAP, SERVICES["azure-function"].payloadCap);
  assert.equal(LAMBDA_ZIP_UPLOAD_CAP, SERVICES.lambda.codeLimits.inlineZip);
  assert.equal(LAMBDA_UNZIPPED_LIMIT, SERVICES.lambda.codeLimits.unzipped);
});
