/**
 * Applies a Step Functions deployment with the AWS SDK: creates or updates
 * the state machine (found by name through ListStateMachines) and creates or
 * updates its EventBridge Scheduler schedules. Loaded lazily by `mod.ts`
 * only when `pipeline.deploy({ apply: true })` runs.
 *
 * Endpoints follow the SDK's standard environment; `AWS_ENDPOINT_URL_SFN`
 * and `AWS_ENDPOINT_URL_SCHEDULER` (or `AWS_ENDPOINT_URL`) point it at a
 * local emulator.
 *
 * @module
 */
import {
  CreateStateMachineCommand,
  ListStateMachinesCommand,
  SFNClient,
  UpdateStateMachineCommand,
} from "@aws-sdk/client-sfn";
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from "@aws-sdk/client-scheduler";
import type { ApplyRequest, ApplyResult } from "../src/codegen/appliers.ts";
import { GlacierError } from "../src/errors.ts";

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates or updates the state machine and its schedules.
 *
 * @param request What to deploy.
 * @returns The console URL, the state machine ARN and whether it was created.
 * @throws {GlacierError} When an AWS call fails (`SYSTEM:DEPLOY_APPLY`, retryable when AWS says so).
 */
export async function applyStepFunctions(request: ApplyRequest): Promise<ApplyResult> {
  const sfnEndpoint = env("AWS_ENDPOINT_URL_SFN") ?? env("AWS_ENDPOINT_URL");
  const schedulerEndpoint = env("AWS_ENDPOINT_URL_SCHEDULER") ?? env("AWS_ENDPOINT_URL");
  const sfn = new SFNClient({ region: request.region, ...(sfnEndpoint ? { endpoint: sfnEndpoint } : {}) });
  const scheduler = new SchedulerClient({
    region: request.region,
    ...(schedulerEndpoint ? { endpoint: schedulerEndpoint } : {}),
  });
  const step = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      const e = error as { name?: string; message?: string; $retryable?: unknown };
      throw new GlacierError(
        "SYSTEM:DEPLOY_APPLY",
        `Cannot apply pipeline "${request.pipeline}" to Step Functions: ${what} failed with ${
          e.name ?? "an error"
        }: ${e.message ?? error}; check the credentials and region ${JSON.stringify(request.region)}`,
        { cause: error, retryable: e.$retryable !== undefined },
      );
    }
  };
  try {
    let arn: string | undefined;
    let token: string | undefined;
    do {
      const page = await step(
        "ListStateMachines",
        () => sfn.send(new ListStateMachinesCommand({ nextToken: token })),
      );
      arn = page.stateMachines?.find((m) => m.name === request.name)?.stateMachineArn;
      token = page.nextToken;
    } while (!arn && token);
    const created = arn === undefined;
    if (arn) {
      const found = arn;
      await step("UpdateStateMachine", () =>
        sfn.send(
          new UpdateStateMachineCommand({
            stateMachineArn: found,
            definition: request.definition,
            roleArn: request.roleArn,
          }),
        ));
    } else {
      const out = await step("CreateStateMachine", () =>
        sfn.send(
          new CreateStateMachineCommand({
            name: request.name,
            definition: request.definition,
            roleArn: request.roleArn,
            type: "STANDARD",
            tags: [{ key: "glacier:pipeline", value: request.pipeline }],
          }),
        ));
      arn = out.stateMachineArn!;
    }
    for (const schedule of request.schedules) {
      if (!request.schedulerRoleArn) {
        throw new GlacierError(
          "USER:DEPLOY_APPLY_ROLE",
          `Cannot schedule pipeline "${request.pipeline}": the scheduler role is unknown; give AwsConfig({ accountId })`,
        );
      }
      const body = {
        Name: schedule.name,
        ScheduleExpression: schedule.expression,
        ScheduleExpressionTimezone: "UTC",
        FlexibleTimeWindow: { Mode: "OFF" as const },
        Target: { Arn: arn, RoleArn: request.schedulerRoleArn, Input: request.input },
        State: "ENABLED" as const,
      };
      if (await scheduleExists(scheduler, schedule.name)) {
        await step("UpdateSchedule", () => scheduler.send(new UpdateScheduleCommand(body)));
      } else {
        await step("CreateSchedule", () => scheduler.send(new CreateScheduleCommand(body)));
      }
    }
    // A schedule Glacier made before and no longer needs (the pipeline's schedule changed or was removed).
    for (const stale of [request.name, `${request.name}-2`]) {
      if (request.schedules.some((s) => s.name === stale)) continue;
      if (await scheduleExists(scheduler, stale)) {
        await step("DeleteSchedule", () => scheduler.send(new DeleteScheduleCommand({ Name: stale })));
      }
    }
    return {
      url:
        `https://${request.region}.console.aws.amazon.com/states/home?region=${request.region}#/statemachines/view/${arn}`,
      id: arn,
      created,
    };
  } finally {
    sfn.destroy();
    scheduler.destroy();
  }
}

async function scheduleExists(scheduler: SchedulerClient, name: string): Promise<boolean> {
  try {
    await scheduler.send(new GetScheduleCommand({ Name: name }));
    return true;
  } catch (error) {
    if (
      error instanceof ResourceNotFoundException ||
      (error as { name?: string }).name === "ResourceNotFoundException"
    ) {
      return false;
    }
    throw new GlacierError(
      "SYSTEM:DEPLOY_APPLY",
      `Cannot read schedule ${JSON.stringify(name)}: ${
        (error as Error).message
      }; check the credentials and region`,
      { cause: error },
    );
  }
}
