// Every service the table gives an adapter is wired to that adapter, and each
// adapter refuses a resource the table runs on another one.
import assert from "node:assert/strict";
import { AwsConfig, AzureConfig, GcpConfig, Provider } from "../../mod.ts";
import { GLACIER_WIRING } from "../../wiring.ts";
import { ADAPTERS, SERVICE_EXECUTORS } from "../../executors/adapters.ts";
import { ARTIFACT_TARGETS } from "../../executors/lambda/build.ts";
import { type AdapterKey, SERVICE_NAMES, SERVICES } from "../../src/config/services.ts";
import { EC2Config, LambdaConfig } from "../../src/config/aws.ts";
import { DatabricksConfig } from "../../src/config/databricks.ts";
import { CloudFunctionConfig } from "../../src/config/gcp.ts";
import { AzureVMConfig } from "../../src/config/azure.ts";

Deno.test("every service with an adapter in the table is wired to it, and every adapter and artifact kind is used", () => {
  const used = new Set<string>();
  const artifacts = new Set<string>();
  for (const service of SERVICE_NAMES) {
    const { adapter, artifact } = SERVICES[service];
    if (artifact) {
      artifacts.add(artifact);
      assert.ok(ARTIFACT_TARGETS[artifact].runtime instanceof URL, `${service}: artifact ${artifact}`);
    }
    if (adapter === null) {
      assert.equal(SERVICE_EXECUTORS[service], undefined, service);
      continue;
    }
    used.add(adapter);
    assert.equal(
      typeof ADAPTERS[adapter],
      "function",
      `${service}: adapter "${adapter}" is not in executors/adapters.ts`,
    );
    assert.equal(SERVICE_EXECUTORS[service], ADAPTERS[adapter], service);
    assert.equal(
      GLACIER_WIRING.executors[service],
      ADAPTERS[adapter],
      `GLACIER_WIRING does not run ${service}`,
    );
  }
  assert.deepEqual([...used].sort(), Object.keys(ADAPTERS).sort(), "an adapter no service uses");
  assert.deepEqual(
    [...artifacts].sort(),
    Object.keys(ARTIFACT_TARGETS).sort(),
    "an artifact kind no service needs",
  );
  assert.ok(Object.isFrozen(ADAPTERS) && Object.isFrozen(SERVICE_EXECUTORS));
});

Deno.test("each adapter refuses a resource whose service the table runs on another adapter", async () => {
  const aws = new Provider({ config: new AwsConfig() });
  const gcp = new Provider({ config: new GcpConfig({ project: "my-project" }) });
  const azure = new Provider({ config: new AzureConfig() });
  const lambda = aws.serverless({ config: new LambdaConfig() });
  const others: Record<AdapterKey, ReturnType<Provider["local"]>> = {
    lambda: aws.vm({ config: new EC2Config() }),
    "cloud-function": lambda,
    "azure-function": gcp.serverless({ config: new CloudFunctionConfig() }),
    databricks: lambda,
    emr: aws.cluster({ config: new DatabricksConfig({ clusterId: "0101-123456-abcdefgh" }) }),
    dataproc: azure.vm({ config: new AzureVMConfig() }),
    ssh: lambda,
  };
  for (const [adapter, resource] of Object.entries(others) as [AdapterKey, typeof lambda][]) {
    await assert.rejects(
      async () => await ADAPTERS[adapter]({ pipeline: "p", runId: "r", resource, syncCode: false }),
      (e: Error) =>
        e instanceof TypeError &&
        e.message.includes(
          `"${resource.service}" resource, which the "${
            SERVICES[resource.service as "lambda"].adapter
          }" adapter runs, not the "${adapter}" one`,
        ),
      adapter,
    );
  }
});
