"use strict";
// The HTTP signature of Google's Functions Framework for Node.js, as Cloud Run
// functions runs a `nodejs` source: load the source's `main`, take the export
// named by FUNCTION_TARGET, serve it on PORT, and call it with Express-style
// `req` (`method`, `headers`, `body` parsed from JSON, `rawBody` as a Buffer)
// and `res` (`status()`, `set()`, `send()`). Only what the signature gives a
// function is here; the service's own front (auth, caps, scaling) is the
// emulator's part.
const http = require("node:http");
const path = require("node:path");

const source = process.cwd();
const pkg = require(path.join(source, "package.json"));
const fn = require(path.join(source, pkg.main || "index.js"))[process.env.FUNCTION_TARGET];
if (typeof fn !== "function") {
  console.error(`Function '${process.env.FUNCTION_TARGET}' is not defined in the provided module.`);
  process.exit(1);
}
http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (c) => chunks.push(c));
  request.on("end", async () => {
    const rawBody = Buffer.concat(chunks);
    const req = Object.assign(request, { rawBody, body: undefined });
    if (/json/.test(request.headers["content-type"] || "")) {
      try {
        req.body = JSON.parse(rawBody.toString("utf8"));
      } catch {
        response.writeHead(400).end("invalid JSON body");
        return;
      }
    }
    const res = Object.assign(response, {
      status(code) {
        response.statusCode = code;
        return res;
      },
      set(name, value) {
        response.setHeader(name, value);
        return res;
      },
      send(body) {
        response.end(body);
        return res;
      },
    });
    try {
      await fn(req, res);
    } catch (error) {
      console.error(error);
      if (!response.headersSent) response.writeHead(500).end("Internal Server Error");
    }
  });
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log(`serving ${process.env.FUNCTION_TARGET}`));
