/**
 * `PipelineConfig`: a pipeline's own settings, apart from `pipeline.ts` so
 * static analysis can read them from source without importing the facade.
 *
 * @module
 */

/** Pipeline-level settings. */
export interface PipelineConfig {
  /** A 5-field cron schedule for deployed orchestrators. @default {undefined} */
  schedule?: string;
  /** Tags carried into generated code. @default {[]} */
  tags?: readonly string[];
}
