// Validate spec/asyncapi.yaml with the AsyncAPI Initiative's own parser (@asyncapi/parser, pinned in
// package-lock.json): the AsyncAPI 3.0 JSON Schema, its references (into openapi.yaml too), and its Spectral rules.
// Redocly lints AsyncAPI as well, but reads 3.0's `discriminator` (a property name) as OpenAPI's object; the
// reference parser is the authority on the format. Prints each finding; fails on any error or warning.
import { Parser, fromFile } from '@asyncapi/parser';

const path = process.argv[2] ?? 'spec/asyncapi.yaml';
const severities = ['error', 'warning', 'info', 'hint'];
const { document, diagnostics } = await fromFile(new Parser(), path).parse();
const findings = diagnostics.filter((d) => d.severity <= 1);
for (const d of findings) {
  const line = (d.range?.start?.line ?? 0) + 1;
  console.log(`${path}:${line}  ${severities[d.severity]}  ${d.code}  ${d.message}  (${(d.path ?? []).join('.')})`);
}
if (!document || findings.length > 0) {
  console.log(`${path}: ${findings.length} problem(s)`);
  process.exit(1);
}
console.log(`${path}: valid AsyncAPI ${document.version()}`);
