/**
 * Glacier's own parts for its command (`cli.ts`) and its tests: static
 * analysis, pictures, code generators, deployment planning, pricing and
 * schedules. Not a stable API: import what a pipeline author needs from
 * `mod.ts`, and extension points from `./extend`. Importing this loads the
 * analyzer and the generators, which `mod.ts` loads only when a mode needs them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GENERATE_FORMATS, ORCHESTRATORS, toEventBridgeCron } from "./internal.ts";
 * assert.ok(GENERATE_FORMATS.includes("terraform") && ORCHESTRATORS.includes("airflow"));
 * assert.deepEqual(toEventBridgeCron("0 6 * * 1-5"), ["cron(0 6 ? * MON-FRI *)"]);
 * ```
 *
 * @module
 */

export { PipelineAnalysis } from "./src/analyze/analysis.ts";
export type { PipelineAnalysisOptions } from "./src/analyze/analysis.ts";
export { analyzeStatic } from "./src/analyze/static.ts";
export type { StaticResult, StaticTarget } from "./src/analyze/static.ts";
export { COST_DEFAULTS } from "./src/analyze/cost.ts";
export type { TaskFigures } from "./src/analyze/cost.ts";
export { PRICES } from "./src/analyze/pricing.ts";
export type { PriceTable } from "./src/analyze/pricing.ts";
export { toSvg } from "./src/analyze/svg.ts";
export { KIND_COLORS } from "./src/dag.ts";
export type { DAGNodeInit } from "./src/dag.ts";

export { checkFormat, GENERATE_FORMATS, generateInfrastructure } from "./src/codegen/generate.ts";
export type { CodegenInput } from "./src/codegen/generate.ts";
export { writeFilesAtomically } from "./src/codegen/write_files.ts";
export { artifactPath, functionName } from "./src/codegen/naming.ts";
export { stagingPrefix } from "./src/run/staging.ts";
export { checkOrchestrator, ORCHESTRATORS, planDeployment } from "./src/codegen/deploy.ts";
export type { DeployPlan } from "./src/codegen/deploy.ts";
export { parseSchedule, runsPerMonth, toEventBridgeCron } from "./src/schedule.ts";
export type { Schedule } from "./src/schedule.ts";

export { SiteIds } from "./src/trace/site.ts";
export type { CallSite, SitedNode } from "./src/trace/site.ts";
export type { RecordedCall } from "./src/trace/context.ts";
export { RUNNER_WIRING } from "./executors/wiring.ts";
export { Provider as CoreProvider } from "./src/provider.ts";
