import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStore } from "../../../src/resources/_local_store.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("LocalStore works when its root or bucket folder is itself a link, as macOS's /tmp is", async () => {
  const real = await Deno.makeTempDir();
  await Deno.mkdir(join(real, "lake"));
  const root = join(await Deno.makeTempDir(), "root");
  await Deno.symlink(real, root);
  const store = new LocalStore(root);
  await store.put("lake", "raw/x.csv", bytes("a\n1\n"));
  assert.equal(new TextDecoder().decode(await store.get("lake", "raw/x.csv")), "a\n1\n");
  assert.deepEqual(await store.list("lake", "raw/"), ["raw/x.csv"]);
  assert.ok(await Deno.stat(join(real, "lake", "raw", "x.csv")));
});

Deno.test("LocalStore.list() names a link inside the bucket by its own key, and enters a linked folder only when the prefix names it", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalStore(root);
  await store.put("lake", "raw/2024-01.csv", bytes("1"));
  await store.put("lake", "raw/2025-01.csv", bytes("2"));
  await Deno.symlink(join(root, "lake", "raw", "2024-01.csv"), join(root, "lake", "raw", "2024-latest.csv"));
  await Deno.symlink(join(root, "lake"), join(root, "lake", "raw", "loop")); // a link to an ancestor
  await Deno.symlink(join(root, "lake", "raw"), join(root, "lake", "current")); // a linked folder
  assert.deepEqual(await store.list("lake", "raw/2024-"), ["raw/2024-01.csv", "raw/2024-latest.csv"]);
  assert.deepEqual(await store.list("lake", ""), [
    "raw/2024-01.csv",
    "raw/2024-latest.csv",
    "raw/2025-01.csv",
  ]);
  // Through a linked folder that stays inside, objects are listed and read under its name.
  assert.deepEqual(await store.list("lake", "current/"), [
    "current/2024-01.csv",
    "current/2024-latest.csv",
    "current/2025-01.csv",
  ]);
  assert.equal(new TextDecoder().decode(await store.get("lake", "current/2025-01.csv")), "2");
});

Deno.test("LocalStore.put() over a link inside the bucket replaces the link, and delete() removes the link, not its target", async () => {
  const root = await Deno.makeTempDir();
  const store = new LocalStore(root);
  await store.put("lake", "a.csv", bytes("a"));
  await Deno.symlink(join(root, "lake", "a.csv"), join(root, "lake", "b.csv"));
  await store.delete("lake", "b.csv");
  assert.equal(await store.exists("lake", "b.csv"), false);
  assert.equal(await store.exists("lake", "a.csv"), true);
  await Deno.symlink(join(root, "lake", "a.csv"), join(root, "lake", "b.csv"));
  await store.put("lake", "b.csv", bytes("b"));
  assert.equal((await Deno.lstat(join(root, "lake", "b.csv"))).isSymlink, false);
  assert.equal(new TextDecoder().decode(await store.get("lake", "a.csv")), "a");
});
