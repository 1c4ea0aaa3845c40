// The same typed client against `make mock` (Prism serving spec/openapi.yaml): what a frontend gets before the
// backend exists. Valid calls answer the spec's examples; invalid ones get problem+json. make test-ts starts
// Prism with the options `make mock` uses.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createCharterClient, problemOf } from "../../generated/typescript/client.js";
import { requiredEnv } from "./env.js";
import { loadSpec, responseExample } from "./examples.js";

const mockUrl = requiredEnv("CHARTER_MOCK_URL");
const spec = loadSpec();
const userId = "3f0c8a52-6f0e-4d51-9a42-3c0d7f6c8b11";

test("the mock answers a valid sign-in with the spec's example", async () => {
  const api = createCharterClient({ baseUrl: mockUrl });
  const { data, response } = await api.POST("/api/v1/auth/login", {
    body: { email: "ada@example.com", password: "correct horse battery staple" },
  });
  assert.equal(response.status, 200);
  assert.deepEqual(data, responseExample(spec, "/api/v1/auth/login", "post", "200", "application/json"));
});

test("the mock accepts any bearer token and answers a read with the spec's example", async () => {
  const api = createCharterClient({ baseUrl: mockUrl, accessToken: () => "any-token" });
  const { data } = await api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: userId } } });
  assert.deepEqual(data, responseExample(spec, "/api/v1/users/{user_id}", "get", "200", "application/json"));
});

test("an invalid request gets a 422 problem, and Prism says what was wrong in sl-violations", async () => {
  const api = createCharterClient({ baseUrl: mockUrl, accessToken: () => "any-token" });
  const result = await api.POST("/api/v1/users", { body: { email: "not an email", name: "Nobody" } });
  const problem = problemOf("/api/v1/users", "post", result);
  assert.equal(problem?.status, 422);
  // The body is the spec's 422 example (not about this request); the real violations are in a header.
  assert.deepEqual(
    problem.problem,
    responseExample(spec, "/api/v1/users", "post", "422", "application/problem+json"),
  );
  const violations = JSON.parse(problem.response.headers.get("sl-violations") ?? "[]") as { location: string[] }[];
  assert.deepEqual(
    violations.map((violation) => violation.location.join(".")),
    ["request.body.email"],
  );
});

test("a call without a token gets the 401 problem", async () => {
  const api = createCharterClient({ baseUrl: mockUrl });
  const result = await api.GET("/api/v1/auth/me");
  const problem = problemOf("/api/v1/auth/me", "get", result);
  assert.equal(problem?.status, 401);
  assert.equal(problem.problem.status, 401);
});

test("`Prefer: code=429` makes the mock answer an error the spec declares, here the 429 problem", async () => {
  const api = createCharterClient({ baseUrl: mockUrl });
  const result = await api.POST("/api/v1/auth/login", {
    body: { email: "ada@example.com", password: "correct horse battery staple" },
    headers: { Prefer: "code=429" },
  });
  const problem = problemOf("/api/v1/auth/login", "post", result);
  assert.equal(problem?.status, 429);
  assert.ok(problem.response.headers.get("Retry-After"));
});

test("a path the spec does not have gets Prism's own 404 problem", async () => {
  const response = await fetch(`${mockUrl}/api/v1/no-such-path`);
  assert.equal(response.status, 404);
  assert.equal(response.headers.get("Content-Type"), "application/problem+json");
  const problem = (await response.json()) as { type: string; status: number };
  assert.equal(problem.type, "https://stoplight.io/prism/errors#NO_PATH_MATCHED_ERROR");
  assert.equal(problem.status, 404);
});
