// One s3rver, one Lambda emulator and one built artifact for the Lambda
// executor tests: building (a 56 MB zip) and creating the function are the
// slow part, so the tests of a file share them.
//
// `deno test --parallel` runs test files in one process, so the process
// environment is shared with other files' S3 tests: nothing here reads or
// sets AWS_* variables. The S3 store and the Lambda executor of this file get
// their endpoints and s3rver's dummy credentials explicitly, and the sandboxes
// get them in their own environment.
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { buildLambdaArtifacts, type BuiltArtifact } from "../../../executors/lambda/build.ts";
import { LambdaExecutor } from "../../../executors/lambda/executor.ts";
import { defineWiring, GLACIER_WIRING, type Wiring } from "../../../extend.ts";
import type { S3Store } from "../../../stores/s3.ts";
import { type LambdaEmulator, startLambdaEmulator } from "../../support/lambda_emulator.ts";
import {
  S3RVER_CREDENTIALS,
  s3rverEnv,
  type S3rverHandle,
  s3rverStore,
  startS3rver,
} from "../../support/s3rver.ts";
import { lambdaPipeline } from "./fixtures/lambda_pipeline.ts";

export interface CloudFixture {
  s3: S3rverHandle;
  emulator: LambdaEmulator;
  client: LambdaClient;
  built: BuiltArtifact;
  /** The S3 store on s3rver that staging and code uploads use. */
  store: S3Store;
  /** The AWS_* variables a sandbox gets (s3rver endpoint and its dummy credentials). */
  env: Record<string, string>;
  /** The wiring of this file's cloud runs: staging on s3rver, Lambda on the emulator. */
  wiring: Wiring;
  /** Points this file's Lambda executors at another endpoint (a restarted emulator). */
  useLambdaEndpoint(endpoint: string): void;
  stop(): Promise<void>;
}

const EMULATOR = new URL("../../support/lambda_emulator.ts", import.meta.url).pathname;

export const STAGING_BUCKET = "glacier-staging";
const REGION = "us-east-1";

export async function startCloudFixture(): Promise<CloudFixture> {
  const s3 = await startS3rver({ buckets: [STAGING_BUCKET] });
  const env = s3rverEnv(s3.endpoint);
  const store = s3rverStore(s3.endpoint);
  const emulator = await startLambdaEmulator({ env });
  let lambdaEndpoint = emulator.endpoint;
  const lambda = (options: Parameters<Wiring["executors"][string]>[0]) => {
    const endpoint = lambdaEndpoint;
    const client = new LambdaClient({
      endpoint,
      region: REGION,
      maxAttempts: 1,
      credentials: S3RVER_CREDENTIALS,
    });
    const executor = new LambdaExecutor({ ...options, client, endpoint });
    const close = executor.close.bind(executor);
    executor.close = async () => {
      await close();
      client.destroy();
    };
    return executor;
  };
  const wiring = defineWiring({ stores: { s3: () => store }, executors: { lambda } }, GLACIER_WIRING);
  const [built] = await buildLambdaArtifacts(lambdaPipeline);
  const client = new LambdaClient({
    endpoint: emulator.endpoint,
    region: REGION,
    maxAttempts: 1,
    credentials: S3RVER_CREDENTIALS,
  });
  // Over Lambda's 50 MB inline limit, so through S3, as Terraform does it.
  const codeKey = `code/${built.functionName}.zip`;
  await store.put(STAGING_BUCKET, codeKey, await Deno.readFile(built.path));
  await createFunction(client, built.functionName, { S3Bucket: STAGING_BUCKET, S3Key: codeKey });
  return {
    s3,
    emulator,
    client,
    built,
    store,
    env,
    wiring,
    useLambdaEndpoint(endpoint: string) {
      lambdaEndpoint = endpoint;
    },
    async stop() {
      client.destroy();
      store.close();
      await emulator.stop();
      await s3.stop();
    },
  };
}

/**
 * Creates a function on the emulator as Terraform would: the custom runtime
 * and the bootstrap handler, with the given code.
 */
export async function createFunction(
  client: LambdaClient,
  functionName: string,
  code: { ZipFile: Uint8Array } | { S3Bucket: string; S3Key: string },
  sizing: { timeout: number; memory: number } = { timeout: 120, memory: 512 },
): Promise<void> {
  await client.send(
    new CreateFunctionCommand({
      FunctionName: functionName,
      Runtime: "provided.al2023",
      Role: "arn:aws:iam::000000000000:role/glacier-test",
      Handler: "bootstrap",
      Code: code,
      Timeout: sizing.timeout,
      MemorySize: sizing.memory,
    }),
  );
}

/** Keys under the staging bucket's test prefix. */
export async function stagedKeys(fx: CloudFixture): Promise<string[]> {
  const { Provider, AwsConfig } = await import("../../../mod.ts");
  const bucket = new Provider({ config: new AwsConfig({ forcePathStyle: true }), wiring: fx.wiring }).bucket({
    bucket: STAGING_BUCKET,
    path: "tests/",
  });
  return await bucket.list();
}

/** Starts the emulator as its own process on a port, to kill it mid-invoke. */
export async function spawnEmulator(port: number, fx: CloudFixture): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EMULATOR, "--port", String(port), "--functions-dir", fx.emulator.functionsDir],
    // Its sandboxes get the AWS_* variables it was started with.
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp", ...fx.env },
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the emulator exited before listening: ${text}`);
    text += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return child;
}

export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export { waitForFile } from "../../support/gate.ts";
