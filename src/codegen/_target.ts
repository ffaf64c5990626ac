// The cloud settings a generator needs (region, account, staging bucket) live
// on the Provider, which the DAG does not carry. They are read the same way
// static analysis reads everything else: from the pipeline's source, where
// Glacier's config classes are built for real from their literal arguments.
import { AwsConfig, AzureConfig, GcpConfig } from "../config/mod.ts";
import { ModuleGraph } from "../analyze/_modules.ts";
import type { ModuleRecord, Value } from "../analyze/_values.ts";
import { Provider } from "../provider.ts";

/** A cloud provider config found in the pipeline's modules. */
export type CloudConfig = AwsConfig | GcpConfig | AzureConfig;

/**
 * Every cloud provider config declared at the top level of the pipeline's
 * module and the modules it imports by relative path, in source order.
 */
export async function providerConfigs(module: string | undefined): Promise<CloudConfig[]> {
  if (!module || !module.startsWith("file:")) return [];
  const graph = new ModuleGraph();
  let root: ModuleRecord;
  try {
    root = await graph.load(module);
    graph.evaluate(root);
  } catch {
    return []; // analysis reports unreadable sources; here the defaults apply
  }
  const found: CloudConfig[] = [];
  const seen = new Set<ModuleRecord>();
  const visit = (record: ModuleRecord) => {
    if (seen.has(record)) return;
    seen.add(record);
    for (const value of record.scope.vars.values()) collect(value);
  };
  const collect = (value: Value) => {
    if (value.t === "import") visit(value.module);
    if (value.t !== "real") return;
    const config = value.value instanceof Provider ? value.value.config : value.value;
    if (
      (config instanceof AwsConfig || config instanceof GcpConfig || config instanceof AzureConfig) &&
      !found.includes(config)
    ) {
      found.push(config);
    }
  };
  visit(root);
  return found;
}
