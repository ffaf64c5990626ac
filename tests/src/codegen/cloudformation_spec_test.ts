// Generated CloudFormation against the CloudFormation registry schemas as the
// AWS CDK reads them (@aws-cdk/aws-service-spec): every committed golden
// template and every AWS example's fresh template; and what the check refuses:
// a Ref to nothing, a GetAtt of an attribute the type lacks, and a property
// given another resource's wrong identifier (Ref gives a role's name where
// the property takes its ARN).
import assert from "node:assert/strict";
import { join } from "node:path";
import { wide } from "../../fixtures/codegen/aws_wide.ts";
import { patterns } from "../../fixtures/codegen/aws_patterns.ts";
import { mlInference } from "../../../examples/ml_inference.ts";
import { cloudDemo } from "../../../examples/cloud.ts";
import { awsPrivateVm } from "../../fixtures/codegen/vms.ts";
import { checkCloudFormation, cloudFormationResourceSpec, ROOT } from "../../support/codegen_checks.ts";

async function templates(dir: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    if (e.isDirectory) await templates(`${dir}/${e.name}`, out);
    else if (e.name === "template.yaml") out.push(`${dir}/${e.name}`);
  }
  return out;
}

Deno.test("the registry schemas say what the checks lean on: Lambda's Role takes a role's Arn, Ref of a role gives its name", () => {
  const fn = cloudFormationResourceSpec("AWS::Lambda::Function")!;
  assert.equal(fn.properties.Code.required, true);
  assert.deepEqual(fn.properties.Role.relationshipRefs, [{
    cloudFormationType: "AWS::IAM::Role",
    propertyName: "Arn",
  }]);
  assert.ok("Arn" in fn.attributes);
  const role = cloudFormationResourceSpec("AWS::IAM::Role")!;
  assert.deepEqual(role.cfnRefIdentifier ?? role.primaryIdentifier, ["RoleName"]);
  assert.equal(cloudFormationResourceSpec("AWS::Nope::Thing"), undefined);
});

Deno.test("every committed CloudFormation template and every AWS example's generated one matches the registry schemas", async () => {
  const committed = [...await templates("examples"), ...await templates("tests/fixtures/codegen/golden")];
  assert.ok(committed.length >= 2, committed.join(", "));
  const texts = await Promise.all(committed.map((f) => Deno.readTextFile(join(ROOT, f))));
  for (const p of [mlInference, wide, cloudDemo, patterns, awsPrivateVm]) {
    texts.push((await p.generate({ format: "cloudformation" })).files["template.yaml"]);
  }
  for (const text of texts) {
    const template = checkCloudFormation(text) as { Resources: Record<string, unknown> };
    assert.ok(Object.keys(template.Resources).length > 0);
  }
});

// ------------------------------------------------------------------ the check refuses

const ROLE = `  R:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
  B:
    Type: AWS::S3::Bucket
`;
const template = (resources: string, outputs = "{}") =>
  `AWSTemplateFormatVersion: "2010-09-09"\nParameters:\n  P:\n    Type: String\nResources:\n${ROLE}${resources}Outputs: ${outputs}\n`;
const fn = (role: string, extra = "") =>
  `  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code: { S3Bucket: { Ref: B }, S3Key: k }\n      Role: ${role}\n${extra}`;

Deno.test("the CloudFormation check accepts Refs of resources, parameters and pseudo parameters, and documented GetAtts", () => {
  checkCloudFormation(
    template(
      fn(
        "{ Fn::GetAtt: [R, Arn] }",
        '      Description: { Ref: P }\n      FunctionName: { Fn::Sub: "${AWS::StackName}-${P}-${B}" }\n',
      ) + "  I:\n    Type: AWS::IAM::InstanceProfile\n    Properties:\n      Roles: [{ Ref: R }]\n",
      '\n  A:\n    Value: { "Fn::GetAtt": "F.Arn" }\n  S:\n    Value: { "Fn::Sub": "${B.Arn}/x" }',
    ),
  );
});

Deno.test("the CloudFormation check refuses a Ref to nothing and a GetAtt of an attribute the type lacks", () => {
  assert.throws(
    () => checkCloudFormation(template(fn("{ Fn::GetAtt: [R, Arn] }", "      Description: { Ref: Nope }\n"))),
    /Ref Nope is not a resource, parameter or pseudo parameter of the template/,
  );
  assert.throws(
    () =>
      checkCloudFormation(
        template(fn("{ Fn::GetAtt: [R, Arn] }", "      Description: { Ref: AWS::Nope }\n")),
      ),
    /Ref AWS::Nope is not a resource, parameter or pseudo parameter/,
  );
  assert.throws(
    () => checkCloudFormation(template(fn("{ Fn::GetAtt: [R, Name] }"))),
    /AWS::IAM::Role has no attribute Name \(it has Arn, RoleId\)/,
  );
  assert.throws(
    () =>
      checkCloudFormation(
        template(fn("{ Fn::GetAtt: [R, Arn] }"), '\n  A:\n    Value: { "Fn::Sub": "${B.Url}" }'),
      ),
    /\(Sub\): AWS::S3::Bucket has no attribute Url/,
  );
  assert.throws(
    () =>
      checkCloudFormation(
        template(fn("{ Fn::GetAtt: [R, Arn] }"), '\n  A:\n    Value: { "Fn::Sub": "${Gone}" }'),
      ),
    /\(Sub\): Ref Gone is not a resource/,
  );
  assert.throws(
    () => checkCloudFormation(template(fn("{ Fn::GetAtt: [Gone, Arn] }"))),
    /GetAtt target Gone does not exist/,
  );
});

Deno.test("the CloudFormation check refuses a property given another resource's wrong identifier", () => {
  assert.throws(
    () => checkCloudFormation(template(fn("{ Ref: R }"))),
    /F\.Role: takes the Arn of AWS::IAM::Role, but Ref R gives RoleName/,
  );
  assert.throws(
    () =>
      checkCloudFormation(
        template(
          "  I:\n    Type: AWS::IAM::InstanceProfile\n    Properties:\n      Roles: [{ Fn::GetAtt: [R, Arn] }]\n",
        ),
      ),
    /I\.Roles\[0\]: takes the RoleName of AWS::IAM::Role, but Fn::GetAtt R gives Arn/,
  );
  assert.throws(
    () => checkCloudFormation(template(fn("{ Fn::GetAtt: [B, Arn] }"))),
    /F\.Role: refers to B \(AWS::S3::Bucket\), but Role takes one of: AWS::IAM::Role/,
  );
});

Deno.test("the CloudFormation check refuses values of the wrong type", () => {
  assert.throws(
    () => checkCloudFormation(template(fn("{ Fn::GetAtt: [R, Arn] }", "      MemorySize: big\n"))),
    /F\.MemorySize: "big" is not of type integer/,
  );
  assert.throws(
    () => checkCloudFormation(template(fn("{ Fn::GetAtt: [R, Arn] }", "      Tags: [{ Key: a }]\n"))),
    /required property Value is missing/,
  );
  assert.throws(
    () =>
      checkCloudFormation(
        template(fn("{ Fn::GetAtt: [R, Arn] }", "      Environment: { Variables: [a] }\n")),
      ),
    /F\.Environment\.Variables/,
  );
});
