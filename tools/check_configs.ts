// The tests' config (tests/deno.test.json) is the package's config plus the test
// peers (validators, emulators, property testing), with its own lockfile, so
// a user's first run (and `deno task demo`) downloads none of them. This
// check keeps the two in step: every runtime pin of deno.json appears in the
// tests' config unchanged, with the same compiler options and unstable flags.
//
//   deno run --allow-read tools/check_configs.ts
const root = JSON.parse(await Deno.readTextFile("deno.json"));
const tests = JSON.parse(await Deno.readTextFile("tests/deno.test.json"));
const problems: string[] = [];
for (const [name, target] of Object.entries(root.imports as Record<string, string>)) {
  if (tests.imports?.[name] !== target) {
    problems.push(
      `"${name}" is ${JSON.stringify(target)} in deno.json but ${
        JSON.stringify(tests.imports?.[name])
      } in tests/deno.test.json`,
    );
  }
}
for (const field of ["compilerOptions", "unstable"]) {
  if (JSON.stringify(root[field]) !== JSON.stringify(tests[field])) {
    problems.push(`"${field}" differs from deno.json`);
  }
}
if (tests.lock !== "./deno.lock") {
  problems.push(`tests/deno.test.json must keep its own lockfile ("lock": "./deno.lock")`);
}
if (problems.length) {
  console.error(
    `tests/deno.test.json is out of step with deno.json; copy the runtime pins over:\n  ${
      problems.join("\n  ")
    }`,
  );
  Deno.exit(1);
}
console.log(
  `tests/deno.test.json: ${Object.keys(root.imports).length} runtime pins in step, ${
    Object.keys(tests.imports).length - Object.keys(root.imports).length
  } test peers`,
);
