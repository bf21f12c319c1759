// Validates an AsyncAPI document with the official parser, offline.
// Usage: node tools/node/validate-asyncapi.mjs docs/asyncapi.json
// Prints every diagnostic; exits 1 if any is an error (severity 0).
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"), { source: path });
const names = ["error", "warning", "info", "hint"];
for (const d of diagnostics) {
  console.log(`${names[d.severity]} ${d.code} ${d.path.join(".")}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === 0).length;
console.log(document ? `parsed: AsyncAPI ${document.version()}, ${document.channels().length} channels, ${document.messages().length} messages` : "not parsed");
process.exit(errors || !document ? 1 : 0);
