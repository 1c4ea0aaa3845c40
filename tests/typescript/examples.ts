// The spec's examples, to compare what the mock answers with what the spec says it answers.
import { readFileSync } from "node:fs";

import { requiredEnv } from "./env.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The spec (spec/openapi.yaml as JSON), to compare the mock's answers with the examples written in it. */
export function loadSpec(): JsonObject {
  const spec: Json = JSON.parse(readFileSync(requiredEnv("CHARTER_OPENAPI_JSON"), "utf-8")) as Json;
  if (!isObject(spec)) {
    throw new Error("the spec is not a JSON object");
  }
  return spec;
}

function resolve(spec: JsonObject, value: Json | undefined): Json | undefined {
  // Only local references (#/components/...), which is all the spec uses.
  if (isObject(value) && typeof value["$ref"] === "string") {
    let target: Json | undefined = spec;
    for (const part of value["$ref"].replace(/^#\//, "").split("/")) {
      target = isObject(target) ? target[part] : undefined;
    }
    return resolve(spec, target);
  }
  return value;
}

function member(spec: JsonObject, value: Json | undefined, ...keys: string[]): Json | undefined {
  let current = resolve(spec, value);
  for (const key of keys) {
    current = isObject(current) ? resolve(spec, current[key]) : undefined;
  }
  return current;
}

/** The value of the first example of one operation's response, following references. */
export function responseExample(spec: JsonObject, path: string, method: string, status: string, media: string): Json {
  const content = member(spec, spec, "paths", path, method, "responses", status, "content", media);
  const examples = member(spec, content, "examples");
  const first = isObject(examples) ? Object.keys(examples)[0] : undefined;
  const example = first === undefined ? member(spec, content, "example") : member(spec, examples, first, "value");
  if (example === undefined) {
    throw new Error(`${method.toUpperCase()} ${path} has no example for ${status} ${media}`);
  }
  return example;
}
