// Bucket.exists() and read() under the role Glacier generates: its listing is
// limited by an s3:prefix condition, so S3 answers HEAD of a missing key with
// 403. Run against s3rver behind a proxy that enforces the generated role's
// policy with an IAM simulator and answers as S3 does.
import assert from "node:assert/strict";
import { S3Client } from "@aws-sdk/client-s3";
import { S3Store } from "../../stores/s3.ts";
import { GlacierError } from "../../src/errors.ts";
import { wide } from "../fixtures/codegen/aws_wide.ts";
import { checkCloudFormation, resolvedCloudFormationPolicies } from "../support/codegen_checks.ts";
import { S3RVER_CREDENTIALS, startS3rver } from "../support/s3rver.ts";
import { allows, startS3IamProxy } from "../support/s3_iam_proxy.ts";

Deno.test("S3 exists() and read() tell a missing object from a refused one under the generated role's prefix-limited listing", async () => {
  const template = checkCloudFormation(
    (await wide.generate({ format: "cloudformation" })).files["template.yaml"],
  );
  // ingest (on the api function) reads lake/raw/* and may list lake only under raw/.
  const role = resolvedCloudFormationPolicies(template, "123456789012", "eu-west-1").ApiRole;
  assert.equal(
    await allows(role, "s3:ListBucket", "arn:aws:s3:::lake"),
    false,
    "no listing without a prefix",
  );
  assert.equal(await allows(role, "s3:ListBucket", "arn:aws:s3:::lake", { "s3:prefix": "raw/x" }), true);

  const server = await startS3rver({ buckets: ["lake", "vault"] });
  const proxy = startS3IamProxy(server.endpoint, role);
  const direct = new S3Store(
    new S3Client({
      endpoint: server.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
    }),
    server.endpoint,
  );
  const store = new S3Store(
    new S3Client({
      endpoint: proxy.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      maxAttempts: 1,
    }),
    proxy.endpoint,
  );
  try {
    await direct.put("lake", "raw/day=1/a.csv", new TextEncoder().encode("x\n1\n"));
    await direct.put("lake", "raw/day=1/a.csv.bak", new TextEncoder().encode("old"));
    await direct.put("vault", "keys/model.bin", new TextEncoder().encode("secret"));

    // S3's own answer to HEAD of a missing key for this role: 403, not 404.
    const head = await fetch(`${proxy.endpoint}/lake/raw/day=2/b.csv`, { method: "HEAD" });
    assert.equal(head.status, 403);

    assert.equal(await store.exists("lake", "raw/day=1/a.csv"), true);
    assert.equal(
      await store.exists("lake", "raw/day=2/b.csv"),
      false,
      "a missing object is missing, not an error",
    );
    assert.equal(
      await store.exists("lake", "raw/day=1/a"),
      false,
      "a key that only prefixes another is not it",
    );
    assert.ok(
      proxy.log.includes("GET s3:ListBucket arn:aws:s3:::lake raw/day=2/b.csv -> 200"),
      proxy.log.join("\n"),
    );
    await assert.rejects(
      () => store.get("lake", "raw/day=2/b.csv"),
      (e: unknown) =>
        e instanceof GlacierError && e.code === "USER:OBJECT_NOT_FOUND" &&
        /s3:\/\/lake\/raw\/day=2\/b\.csv/.test(e.message),
    );
    // Outside the role's grants the answer stays a refusal, present or not.
    for (const key of ["keys/model.bin", "keys/missing.bin"]) {
      await assert.rejects(
        () => store.exists("vault", key),
        (e: unknown) => e instanceof GlacierError && e.code === "USER:ACCESS_DENIED",
        key,
      );
    }
  } finally {
    direct.close();
    store.close();
    await proxy.stop();
    await server.stop();
  }
});
