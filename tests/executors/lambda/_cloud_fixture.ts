// One s3rver, one Lambda emulator and one built artifact for the Lambda
// executor tests: building (a 56 MB zip) and creating the function are the
// slow part, so the tests of a file share them.
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { buildLambdaArtifacts, type BuiltArtifact } from "../../../executors/lambda/build.ts";
import { closeS3Stores } from "../../../stores/s3.ts";
import { type LambdaEmulator, startLambdaEmulator } from "../../support/lambda_emulator.ts";
import { type S3rverHandle, startS3rver, useS3rverEnv } from "../../support/s3rver.ts";
import { lambdaPipeline } from "./fixtures/lambda_pipeline.ts";

export interface CloudFixture {
  s3: S3rverHandle;
  emulator: LambdaEmulator;
  client: LambdaClient;
  built: BuiltArtifact;
  /** The AWS_* variables a sandbox gets (s3rver endpoint and its dummy credentials). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export const STAGING_BUCKET = "glacier-staging";

export async function startCloudFixture(): Promise<CloudFixture> {
  const s3 = await startS3rver({ buckets: [STAGING_BUCKET] });
  const restoreS3 = useS3rverEnv(s3.endpoint);
  const env = Object.fromEntries(Object.entries(Deno.env.toObject()).filter(([k]) => k.startsWith("AWS_")));
  const emulator = await startLambdaEmulator({ env });
  const oldEndpoint = Deno.env.get("AWS_ENDPOINT_URL_LAMBDA");
  Deno.env.set("AWS_ENDPOINT_URL_LAMBDA", emulator.endpoint);
  const [built] = await buildLambdaArtifacts(lambdaPipeline);
  const client = new LambdaClient({ endpoint: emulator.endpoint, region: "us-east-1", maxAttempts: 1 });
  await client.send(
    new CreateFunctionCommand({
      FunctionName: built.functionName,
      Runtime: "provided.al2023",
      Role: "arn:aws:iam::000000000000:role/glacier-test",
      Handler: "bootstrap",
      Code: { ZipFile: await Deno.readFile(built.path) },
      Timeout: 120,
      MemorySize: 512,
    }),
  );
  return {
    s3,
    emulator,
    client,
    built,
    env,
    async stop() {
      client.destroy();
      closeS3Stores();
      await emulator.stop();
      await s3.stop();
      restoreS3();
      if (oldEndpoint === undefined) Deno.env.delete("AWS_ENDPOINT_URL_LAMBDA");
      else Deno.env.set("AWS_ENDPOINT_URL_LAMBDA", oldEndpoint);
    },
  };
}

/** Keys under the staging bucket, through s3rver's folder-free listing. */
export async function stagedKeys(): Promise<string[]> {
  const { Provider, AwsConfig } = await import("../../../mod.ts");
  const bucket = new Provider({ config: new AwsConfig({ forcePathStyle: true }) }).bucket({
    bucket: STAGING_BUCKET,
    path: "tests/",
  });
  return await bucket.list();
}
