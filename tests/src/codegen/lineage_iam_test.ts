// Generated IAM for GCP and Azure grants globs and computed keys as prefixes:
// the GCS conditions are evaluated by a CEL evaluator on the requests a task
// makes; the Azure role condition is read clause by clause.
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { run } from "@bufbuild/cel";
import { azureLineage, gcsLineage } from "../../fixtures/codegen/lineage_clouds.ts";
import { parseTerraform } from "../../support/codegen_checks.ts";

// The object permissions of the predefined roles generated code uses (Cloud Storage IAM roles).
const ROLE_PERMISSIONS: Record<string, readonly string[]> = {
  "roles/storage.objectViewer": ["storage.objects.get", "storage.objects.list"],
  "roles/storage.objectUser": [
    "storage.objects.create",
    "storage.objects.delete",
    "storage.objects.get",
    "storage.objects.list",
    "storage.objects.update",
  ],
};

type Member = { bucket: string; role: string; member: string; condition: { expression: string }[] };

// Whether the bindings let the function's account make a request: a list is
// checked on the bucket, any other object request on the object.
function allowed(members: Member[], permission: string, object?: string): boolean {
  const resource = new Map([
    ["type", object === undefined ? "storage.googleapis.com/Bucket" : "storage.googleapis.com/Object"],
    ["name", `projects/_/buckets/lake${object === undefined ? "" : `/objects/${object}`}`],
  ]);
  return members.some((m) =>
    ROLE_PERMISSIONS[m.role].includes(permission) && run(m.condition[0].expression, { resource }) === true
  );
}

Deno.test("generate terraform for GCP: a glob input, a computed key's prefix and a literal key, each granted as far as the task reaches", async () => {
  const { files } = await gcsLineage.generate({ format: "terraform" });
  const iam = (await parseTerraform(files))["iam.tf"] as any;
  const members = (Object.values(iam.resource.google_storage_bucket_iam_member) as Member[][])
    .map((m) => m[0])
    .filter((m) => m.bucket === "${data.google_storage_bucket.lake.name}");
  assert.equal(members.length, 3, JSON.stringify(members));
  // gcsCount reads reports/day-* (and lists from reports/, which is checked on the bucket).
  assert.ok(allowed(members, "storage.objects.get", "reports/day-1.json"));
  assert.ok(allowed(members, "storage.objects.list"));
  assert.ok(!allowed(members, "storage.objects.get", "reports/summary.json"));
  assert.ok(!allowed(members, "storage.objects.create", "reports/day-1.json"), "the input is read only");
  // gcsArchive writes archive/${n}.json (the prefix) and index.json, over old objects too.
  for (const permission of ["storage.objects.create", "storage.objects.delete"]) {
    assert.ok(allowed(members, permission, "archive/3.json"), permission);
    assert.ok(allowed(members, permission, "index.json"), permission);
  }
  assert.ok(!allowed(members, "storage.objects.create", "index.json.bak"));
  assert.ok(!allowed(members, "storage.objects.create", "other/3.json"));
  assert.match(
    files["iam.tf"],
    /# Listing is checked on the bucket: cloud_function may list every name in lake\./,
  );
});

Deno.test("generate terraform for Azure: the container role keeps to the glob, the computed key's prefix and the literal key", async () => {
  const { files } = await azureLineage.generate({ format: "terraform" });
  const iam = (await parseTerraform(files))["iam.tf"] as any;
  const lake = iam.resource.azurerm_role_assignment.azure_function_lake[0];
  assert.equal(lake.role_definition_name, "Storage Blob Data Contributor");
  assert.equal(lake.condition_version, "2.0");
  const blob = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
  const path = (op: string, p: string) => `@Resource[${blob}:path] ${op} '${p}'`;
  const list = (p: string) => `@Request[${blob}:prefix] StringStartsWith '${p}'`;
  const clauses = String(lake.condition).split(") AND ((");
  assert.equal(clauses.length, 3, lake.condition);
  // Reads (not listings): what the function reads or writes.
  assert.ok(clauses[0].includes(`!(ActionMatches{'${blob}/read'} AND NOT SubOperationMatches{'Blob.List'})`));
  for (
    const p of [
      path("StringStartsWith", "reports/day-"),
      path("StringStartsWith", "archive/"),
      path("StringEquals", "index.json"),
    ]
  ) assert.ok(clauses[0].includes(p), p);
  // Listings: by the prefix the store asks for (a glob lists from its last "/").
  assert.ok(clauses[1].includes("SubOperationMatches{'Blob.List'})"));
  for (const p of [list("reports/"), list("archive/"), list("index.json")]) {
    assert.ok(clauses[1].includes(p), p);
  }
  // Writes and deletes: only what the function writes, never its glob input.
  for (const action of ["write", "add/action", "delete", "move/action"]) {
    assert.ok(clauses[2].includes(`!(ActionMatches{'${blob}/${action}'})`), action);
  }
  assert.ok(clauses[2].includes(path("StringStartsWith", "archive/")));
  assert.ok(clauses[2].includes(path("StringEquals", "index.json")));
  assert.ok(!clauses[2].includes("reports/"), "the glob input is not writable");
  // The staging container is the function's own, without a condition.
  const staging = iam.resource.azurerm_role_assignment.azure_function_glacier_azure_lineage_staging[0];
  assert.equal(staging.condition, undefined);
  assert.match(
    files["iam.tf"],
    /# azure_function in container lake: read reports\/day-\*, write archive\/\*, write index\.json/,
  );
});

Deno.test("trace() gives the same lineage as static analysis for the computed key and the glob", async () => {
  const traced = await gcsLineage.trace();
  const { dag } = await gcsLineage.analyze();
  for (const id of ["gcsCount", "gcsArchive"]) {
    assert.deepEqual(
      [traced.get(id)!.reads, [...traced.get(id)!.writes].sort()],
      [dag.get(id)!.reads, [...dag.get(id)!.writes].sort()],
      id,
    );
  }
  assert.deepEqual([...traced.get("gcsArchive")!.writes].sort(), [
    "gs://lake/archive/",
    "gs://lake/index.json",
  ]);
});
