/**
 * What a Cloud Run function (2nd gen Cloud Functions) artifact adds to the
 * common layout of `glacier build` (bootstrap, bin/deno, app/, deno_dir/,
 * glacier.json; see `executors/lambda/build.ts`).
 *
 * Why a Node.js shim and not a container: Cloud Run functions deploys source
 * for a language runtime only, and Deno is none of them; a container would
 * need an image build and a registry, which `glacier build` cannot make
 * offline. So the zip is a `nodejs22` source (`package.json`, `index.js`
 * exporting the HTTP function `glacier`, the generated Terraform's
 * `entry_point`), and the shim starts Deno once per instance on the Glacier
 * runtime (`executors/cloud_function/runtime.ts`, an HTTP server on a loopback
 * port) and hands every request's body to it, so the task payload runs in
 * Deno exactly as on Lambda.
 *
 * @module
 */
import type { ArtifactTarget } from "../_artifact_target.ts";
import { CLOUD_FUNCTION_ENTRY } from "../../src/codegen/naming.ts";
import { FUNCTION_ERROR_HEADER } from "../_function_runtime.ts";
import { LOG_TAIL_HEADER } from "../_remote_log.ts";

/** The exported function name Cloud Run functions calls (`--entry-point`). */
export const CLOUD_FUNCTION_ENTRY_POINT: string = CLOUD_FUNCTION_ENTRY.entryPoint;

const encoder = new TextEncoder();

// CommonJS for the Functions Framework's loader; Node 20+ has fetch.
const SHIM = `"use strict";
// Glacier's Cloud Run function: starts Deno (bin/deno) once per instance on the
// Glacier runtime and forwards each request body (the task payload) to it.
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

let port;
function deno() {
  const bin = path.join(__dirname, "bin", "deno");
  try {
    fs.accessSync(bin, fs.constants.X_OK);
    return bin;
  } catch {
    // A source upload may lose the executable bit: run a copy from /tmp.
    const copy = path.join(os.tmpdir(), "glacier-deno");
    if (!fs.existsSync(copy)) {
      fs.copyFileSync(bin, copy);
      fs.chmodSync(copy, 0o755);
    }
    return copy;
  }
}
function start() {
  return port ??= new Promise((resolve, reject) => {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "glacier.json"), "utf8"));
    const child = spawn(deno(), [
      "run", "--allow-all", "--cached-only", "--frozen",
      "--config", path.join(__dirname, "app", "deno.json"),
      path.join(__dirname, "app", manifest.runtime),
    ], {
      cwd: path.join(__dirname, "app"),
      env: {
        ...process.env,
        DENO_DIR: process.env.GLACIER_DENO_DIR || path.join(__dirname, "deno_dir"),
        DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", NO_COLOR: "1",
        GLACIER_MANIFEST: path.join(__dirname, "glacier.json"),
        GLACIER_APP_ROOT: path.join(__dirname, "app"),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout.on("data", (chunk) => {
      if (text === null) return process.stdout.write(chunk);
      text += chunk;
      const m = /glacier-runtime-port (\\d+)\\n/.exec(text);
      if (m) {
        process.stdout.write(text.slice(0, m.index) + text.slice(m.index + m[0].length));
        text = null;
        resolve(Number(m[1]));
      }
    });
    child.on("exit", (code) => {
      port = undefined;
      reject(new Error("the Glacier runtime (Deno) exited with " + code + " before it listened"));
    });
  });
}

exports.${CLOUD_FUNCTION_ENTRY_POINT} = async (req, res) => {
  try {
    const at = await start();
    const body = req.rawBody ?? Buffer.from(typeof req.body === "string" ? req.body : JSON.stringify(req.body));
    const answer = await fetch("http://127.0.0.1:" + at + "/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    res.status(answer.status);
    for (const name of ${JSON.stringify(["content-type", FUNCTION_ERROR_HEADER, LOG_TAIL_HEADER])}) {
      const value = answer.headers.get(name);
      if (value) res.set(name, value);
    }
    res.send(Buffer.from(await answer.arrayBuffer()));
  } catch (error) {
    res.status(500).set("x-glacier-function-error", "Runtime.StartError").set("content-type", "application/json")
      .send(JSON.stringify({ errorType: "Runtime.StartError", errorMessage: String(error && error.message || error), stackTrace: String(error && error.stack || "").split("\\n") }));
  }
};
`;

const PACKAGE = {
  name: "glacier-function",
  private: true,
  main: "index.js",
  engines: { node: `>=${CLOUD_FUNCTION_ENTRY.runtime.replace("nodejs", "")}` },
  dependencies: {},
};

/** The Cloud Run function artifact's runtime module and files. */
export const CLOUD_FUNCTION_TARGET: ArtifactTarget = {
  runtime: new URL("./runtime.ts", import.meta.url),
  entries: [new URL("../../stores/gcs.ts", import.meta.url)],
  files: {
    "index.js": { data: encoder.encode(SHIM) },
    "package.json": { data: encoder.encode(JSON.stringify(PACKAGE, null, 2) + "\n") },
  },
};
