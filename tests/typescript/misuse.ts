// Compiled, never run: proof that the generated types catch a frontend's mistakes. Each `@ts-expect-error` line
// fails the build ("Unused '@ts-expect-error' directive") the day the call under it type-checks, e.g. because the
// types stopped following the spec.
import type { ChatConnection } from "../../generated/typescript/chat.js";
import { createCharterClient, problemOf, type components } from "../../generated/typescript/client.js";
import type { SseEvent } from "../../generated/typescript/events.js";

export async function misuses(): Promise<void> {
  const api = createCharterClient({ baseUrl: "http://127.0.0.1:8000" });
  const user_id = "3f0c8a52-6f0e-4d51-9a42-3c0d7f6c8b11";

  // @ts-expect-error -- a path the spec does not have
  await api.GET("/api/v1/user", {});
  // @ts-expect-error -- a method the path does not have
  await api.DELETE("/health", {});
  // @ts-expect-error -- a body field the schema does not have, in an inline literal
  await api.POST("/api/v1/users", { body: { email: "a@example.com", name: "A", nickname: "a" } });
  // @ts-expect-error -- a body field the schema does not have, in a typed value
  const extra: components["schemas"]["UserCreate"] = { email: "a@example.com", name: "A", nickname: "a" };
  await api.POST("/api/v1/users", { body: extra });
  await api.PATCH("/api/v1/users/{user_id}", {
    params: { path: { user_id } },
    // @ts-expect-error -- a typo in a body whose fields are all optional (nme for name)
    body: { nme: "x" },
    headers: { "Content-Type": "application/merge-patch+json" },
  });
  await api.GET("/api/v1/users", {
    // @ts-expect-error -- a query parameter the operation does not have
    params: { query: { limt: 5 } },
  });
  // @ts-expect-error -- a required body field (name) is missing
  await api.POST("/api/v1/users", { body: { email: "a@example.com" } });
  // @ts-expect-error -- a value outside the enum
  await api.POST("/api/v1/users", { body: { email: "a@example.com", name: "A", role: "root" } });
  // @ts-expect-error -- the body is required
  await api.POST("/api/v1/auth/login", {});
  // @ts-expect-error -- a path parameter of the wrong type
  await api.GET("/api/v1/users/{user_id}", { params: { path: { user_id: 42 } } });
  // @ts-expect-error -- the path parameter is missing
  await api.GET("/api/v1/users/{user_id}", { params: { path: {} } });
  // @ts-expect-error -- a query parameter outside its enum
  await api.GET("/api/v1/users", { params: { query: { sort: "age" } } });

  const read = await api.GET("/api/v1/users/{user_id}", { params: { path: { user_id } } });
  // @ts-expect-error -- data is undefined until the call is known to have succeeded
  console.log(read.data.email);
  if (read.data) {
    // @ts-expect-error -- the User schema never carries a password
    console.log(read.data.password);
    // @ts-expect-error -- the id is read-only
    read.data.id = "another";
  }

  const problem = problemOf("/api/v1/users/{user_id}", "get", read);
  if (problem) {
    switch (problem.status) {
      case 404:
        break;
      // @ts-expect-error -- getUser declares no 409 answer
      case 409:
        break;
    }
  }
  // @ts-expect-error -- problemOf only knows the spec's operations
  problemOf("/health", "post", read);
  // @ts-expect-error -- the result of another operation (getUser's, for listUsers)
  problemOf("/api/v1/users", "get", read);
  // @ts-expect-error -- the result of another method of the same path (GET's, for DELETE)
  problemOf("/api/v1/users/{user_id}", "delete", read);
}

export function realtimeMisuses(chat: ChatConnection, event: SseEvent): void {
  // @ts-expect-error -- a client message the chat does not have
  chat.send({ type: "shout", room: "general" });
  // @ts-expect-error -- `say` needs its text
  chat.send({ type: "say", room: "general" });
  // @ts-expect-error -- a typo in a frame's field
  chat.send({ type: "join", rom: "general" });
  if (event.event === "user.deleted") {
    // @ts-expect-error -- a user.deleted event carries the user's id, not the user
    console.log(event.data.data.user);
  }
  // @ts-expect-error -- the SSE stream never sends chat messages (they are the chat's)
  console.log(event.event === "chat.message");
}
