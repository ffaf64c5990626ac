import assert from "node:assert/strict";
import { toSvg } from "../../../src/analyze/svg.ts";
import { analyzeStatic } from "../../../src/analyze/static.ts";
import { KIND_COLORS } from "../../../src/dag.ts";

Deno.test("toSvg() draws every node, coloured by kind, conditional nodes as hexagons", async () => {
  const module = new URL("../../fixtures/analyze/conditional.ts", import.meta.url).href;
  const { dag } = await analyzeStatic({ name: "conditional", module });
  const svg = await toSvg(dag);
  assert.match(svg, /^<\?xml|^<svg/);
  for (const id of ["load", "heavy", "light", "save"]) assert.ok(svg.includes(`<title>${id}</title>`), id);
  assert.ok(svg.includes(KIND_COLORS.local));
  assert.ok(svg.includes("if params.full"));
  // A hexagon is a six-point polygon.
  const heavy = svg.slice(svg.indexOf("<title>heavy</title>"));
  const points = heavy.match(/<polygon[^>]*points="([^"]+)"/)![1].trim().split(/\s+/);
  assert.equal(points.length, 7); // closed: the first point repeats
});

Deno.test("toSvg() draws dynamic nodes dashed", async () => {
  const module = new URL("../../fixtures/analyze/dynamic_fan_out.ts", import.meta.url).href;
  const { dag } = await analyzeStatic({ name: "dynamic_fan_out", module });
  const svg = await toSvg(dag);
  const node = svg.slice(svg.indexOf("<title>processFile</title>"), svg.indexOf("<title>combine</title>"));
  assert.match(node, /stroke-dasharray/);
});
