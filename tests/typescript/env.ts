// What make test-ts (scripts/typescript_suite.py) passes to the compiled tests: where the live service and the
// Prism mock listen, the bootstrap admin, and the spec as JSON.
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set; run these tests with \`make test-ts\`, which starts what they call`);
  }
  return value;
}
