// The real-time side through the generated helpers, against the real service: the SSE stream (typed events, a
// resume with Last-Event-ID, the helper reconnecting by itself) and the WebSocket chat (join, say, ping, errors,
// a refused handshake). It signs in once; node --test runs the files in name order, and journey.test.ts, which
// spends the rest of this address's `auth` allowance, comes after it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { ChatClosed, ChatConnection } from "../../generated/typescript/chat.js";
import { createCharterClient } from "../../generated/typescript/client.js";
import { streamEvents, type SseEvent } from "../../generated/typescript/events.js";
import { requiredEnv } from "./env.js";

const baseUrl = requiredEnv("CHARTER_BASE_URL");

/** The next event of `events` that is not a tick. */
async function nextBusEvent(events: AsyncIterator<SseEvent>): Promise<SseEvent> {
  for (;;) {
    const { done, value } = await events.next();
    assert.ok(!done, "the stream ended");
    if (value.event !== "tick") {
      return value;
    }
  }
}

/** A tick: the stream is open and subscribed (the service sends them every SSE_TICK_SECONDS). */
async function nextTick(events: AsyncIterator<SseEvent>): Promise<void> {
  for (;;) {
    const { done, value } = await events.next();
    assert.ok(!done, "the stream ended");
    if (value.event === "tick") {
      return;
    }
  }
}

test("events and chat through the generated helpers", async (t) => {
  let token: string | undefined;
  const admin = createCharterClient({ baseUrl, accessToken: () => token });
  const signedIn = await admin.POST("/api/v1/auth/login", {
    body: { email: requiredEnv("CHARTER_ADMIN_EMAIL"), password: requiredEnv("CHARTER_ADMIN_PASSWORD") },
  });
  assert.ok(signedIn.data, `sign-in failed with ${signedIn.response.status}`);
  token = signedIn.data.access_token;
  const accessToken = (): string | undefined => token;

  async function createUser(): Promise<string> {
    const email = `ts-events-${randomUUID()}@example.com`;
    const created = await admin.POST("/api/v1/users", { body: { email, name: "Event Source" } });
    assert.equal(created.response.status, 201);
    return email;
  }

  await t.test("a stream resumed with Last-Event-ID replays what happened while it was closed", async () => {
    const first = streamEvents({ baseUrl, accessToken });
    await nextTick(first);
    const seenEmail = await createUser();
    const seen = await nextBusEvent(first);
    assert.equal(seen.event, "user.created");
    assert.ok(seen.event === "user.created" && seen.data.type === "user.created");
    assert.equal(seen.data.data.user.email, seenEmail); // typed: the envelope's data is the User resource
    await first.return(undefined); // closes the connection

    const missedEmail = await createUser();
    const resumed = streamEvents({ baseUrl, accessToken, lastEventId: seen.id });
    const replayed = await nextBusEvent(resumed);
    await resumed.return(undefined);
    assert.equal(replayed.event, "user.created");
    assert.ok(replayed.event === "user.created");
    assert.equal(replayed.data.data.user.email, missedEmail);
  });

  await t.test("when the service ends a connection, the helper reconnects with the last id it delivered", async () => {
    const requests: Headers[] = [];
    const recording: typeof fetch = (input, init) => {
      requests.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    const stop = new AbortController();
    const events = streamEvents({ baseUrl, accessToken, maxSeconds: 1, signal: stop.signal, fetch: recording });
    await nextTick(events);
    const email = await createUser();
    const delivered = await nextBusEvent(events);
    assert.ok(delivered.event === "user.created");
    assert.equal(delivered.data.data.user.email, email);
    // The first connection ends after max_seconds=1; the helper waits the service's `retry:` and opens another.
    while (requests.length < 2) {
      await nextTick(events);
    }
    stop.abort();
    assert.equal((await events.next()).done, true);
    assert.equal(requests[0]?.get("Last-Event-ID"), null);
    assert.equal(requests[1]?.get("Last-Event-ID"), delivered.id);
    assert.equal(requests[1]?.get("Authorization"), `Bearer ${token}`);
  });

  await t.test("a chat connection joins a room, says something and hears it back", async () => {
    assert.ok(token);
    const me = await admin.GET("/api/v1/auth/me");
    const chat = await ChatConnection.open({ baseUrl, accessToken: token });
    assert.equal(chat.welcome.user_id, me.data?.id);
    assert.deepEqual(chat.welcome.rooms, []);

    chat.send({ type: "join", room: "typescript" });
    assert.equal((await chat.next("joined")).room, "typescript");
    chat.send({ type: "say", room: "typescript", text: "Hello from the generated helper" });
    const heard = await chat.next("message");
    assert.equal(heard.text, "Hello from the generated helper");
    assert.equal(heard.sender_id, chat.welcome.user_id);

    chat.send({ type: "say", room: "elsewhere", text: "nobody here" });
    assert.equal((await chat.next("error")).code, "not_in_room");
    chat.send({ type: "ping" });
    assert.equal((await chat.next()).type, "pong");

    chat.close();
    await assert.rejects(chat.next(), (error) => error instanceof ChatClosed && error.code === 1000);
  });

  await t.test("a chat handshake with a bad token is refused", async () => {
    await assert.rejects(ChatConnection.open({ baseUrl, accessToken: "not-a-token" }), ChatClosed);
  });
});
