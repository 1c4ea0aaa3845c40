// A frontend's journey through the real service, with nothing but the generated client: sign in, register, sign
// in as the new user, create/read/update/replace/delete a user, and the 412, 404, 422 and 429 problems handled
// through the typed error union. make test-ts starts the service (SQLite, a throw-away data directory) first.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { createCharterClient, problemOf, type Problem } from "../../generated/typescript/client.js";
import { requiredEnv } from "./env.js";

const baseUrl = requiredEnv("CHARTER_BASE_URL");
const adminEmail = requiredEnv("CHARTER_ADMIN_EMAIL");
const adminPassword = requiredEnv("CHARTER_ADMIN_PASSWORD");

/** The `q` of a `RateLimit-Policy: "auth";q=5;w=300` header: how many requests the policy allows per window. */
function policyQuota(header: string | null): number {
  const quota = /;q=(\d+)/.exec(header ?? "")?.[1];
  assert.ok(quota !== undefined, `no quota in RateLimit-Policy ${String(header)}`);
  return Number(quota);
}

test("a frontend's journey through the real service", async (t) => {
  let adminToken: string | undefined;
  let userToken: string | undefined;
  const admin = createCharterClient({ baseUrl, accessToken: () => adminToken });
  const member = createCharterClient({ baseUrl, accessToken: () => userToken });
  const suffix = randomUUID();
  // A password unrelated to the email: the service refuses one built from the account's email or name.
  const password = `journey ${randomUUID()}`;
  const newcomer = { email: `ts-${suffix}@example.com`, name: "TypeScript Newcomer", password };
  let authQuota = 0;

  await t.test("the admin signs in", async () => {
    const { data, response } = await admin.POST("/api/v1/auth/login", {
      body: { email: adminEmail, password: adminPassword },
    });
    assert.equal(response.status, 200);
    assert.ok(data, "no token pair");
    assert.equal(data.token_type, "Bearer");
    adminToken = data.access_token;
    authQuota = policyQuota(response.headers.get("RateLimit-Policy"));
  });

  await t.test("someone registers and signs in", async () => {
    const registered = await member.POST("/api/v1/auth/register", { body: newcomer });
    const refused = problemOf("/api/v1/auth/register", "post", registered);
    assert.equal(registered.response.status, 202, refused ? summary(refused.problem) : "not a problem");
    assert.equal(registered.data?.status, "accepted");

    const signedIn = await member.POST("/api/v1/auth/login", {
      body: { email: newcomer.email, password: newcomer.password },
    });
    assert.ok(signedIn.data, `sign-in failed with ${signedIn.response.status}`);
    userToken = signedIn.data.access_token;

    const me = await member.GET("/api/v1/auth/me");
    assert.equal(me.data?.email, newcomer.email);
    assert.equal(me.data?.role, "user");
  });

  await t.test("the admin creates, reads, updates, replaces and deletes a user", async () => {
    const email = `managed-${suffix}@example.com`;
    const created = await admin.POST("/api/v1/users", { body: { email, name: "Managed User", role: "moderator" } });
    assert.equal(created.response.status, 201);
    assert.ok(created.data, "no user in the 201");
    const id = created.data.id;
    assert.equal(created.data.active, true, "`active` defaults to true");
    assert.equal(created.response.headers.get("Location"), `/api/v1/users/${id}`);

    const read = await admin.GET("/api/v1/users/{user_id}", { params: { path: { user_id: id } } });
    assert.deepEqual(read.data, created.data);
    const etag = read.response.headers.get("ETag");
    assert.ok(etag, "no ETag on the read");

    const patched = await admin.PATCH("/api/v1/users/{user_id}", {
      params: { path: { user_id: id }, header: { "If-Match": etag } },
      body: { name: "Renamed User" },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    assert.equal(patched.data?.name, "Renamed User");
    const newEtag = patched.response.headers.get("ETag");
    assert.ok(newEtag !== null && newEtag !== etag, "the ETag did not change with the user");

    // The first ETag is stale now: the service refuses the change with a 412 problem.
    const stale = await admin.PUT("/api/v1/users/{user_id}", {
      params: { path: { user_id: id }, header: { "If-Match": etag } },
      body: { email, name: "Lost Update", active: true },
    });
    const conflict = problemOf("/api/v1/users/{user_id}", "put", stale);
    assert.equal(conflict?.status, 412);

    const replaced = await admin.PUT("/api/v1/users/{user_id}", {
      params: { path: { user_id: id }, header: { "If-Match": newEtag } },
      body: { email, name: "Replaced User", active: false },
    });
    assert.equal(replaced.data?.name, "Replaced User");
    assert.equal(replaced.data?.active, false);

    const deleted = await admin.DELETE("/api/v1/users/{user_id}", {
      params: { path: { user_id: id }, header: { "If-Match": replaced.response.headers.get("ETag") ?? "*" } },
    });
    assert.equal(deleted.response.status, 204);

    const gone = await admin.GET("/api/v1/users/{user_id}", { params: { path: { user_id: id } } });
    const missing = problemOf("/api/v1/users/{user_id}", "get", gone);
    assert.equal(missing?.status, 404);
    assert.equal(missing.problem.status, 404);
  });

  await t.test("a 422 problem lists what is wrong, through the typed error union", async () => {
    const result = await admin.POST("/api/v1/users", { body: { email: "not an email", name: "Nobody" } });
    assert.equal(result.data, undefined);
    const problem = problemOf("/api/v1/users", "post", result);
    assert.ok(problem, "the invalid user was accepted");
    switch (problem.status) {
      case 422: {
        const pointers = (problem.problem.errors ?? []).map((error) => error.pointer);
        assert.deepEqual(pointers, ["#/email"]);
        break;
      }
      default:
        assert.fail(`expected 422, got ${problem.status}: ${summary(problem.problem)}`);
    }
  });

  // Last: it uses up the `auth` allowance of this client address (every sign-in above counted too).
  await t.test("a 429 problem says when to retry, through the typed error union", async () => {
    assert.ok(authQuota > 0);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let attempt = 0; attempt <= authQuota && retryAfter === null; attempt += 1) {
      const result = await member.POST("/api/v1/auth/login", {
        body: { email: newcomer.email, password: "not the password at all" },
      });
      const problem = problemOf("/api/v1/auth/login", "post", result);
      assert.ok(problem, "a wrong password was accepted");
      statuses.push(problem.status);
      if (problem.status === 429) {
        assert.equal(problem.problem.status, 429);
        retryAfter = problem.response.headers.get("Retry-After");
      } else {
        assert.equal(problem.status, 401, summary(problem.problem));
      }
    }
    assert.equal(statuses.at(-1), 429, `never limited within the quota of ${authQuota}: ${statuses.join(", ")}`);
    assert.ok(Number(retryAfter) > 0, `Retry-After is ${String(retryAfter)}`);
  });
});

function summary(problem: Problem): string {
  return `${problem.title}: ${problem.detail ?? ""}`;
}
