/**
 * A typed client for the service's Server-Sent Events (`GET /api/v1/sse/stream`), built on fetch rather than
 * EventSource, which cannot send the bearer token. It parses the stream with `eventsource-parser`, remembers the
 * last event id and, when a connection ends (the access token expired, `max_seconds` passed, the service restarted,
 * the network dropped), reconnects with `Last-Event-ID`, so the service replays what was missed.
 *
 *     const stop = new AbortController();
 *     for await (const event of streamEvents({ baseUrl, accessToken: () => session.token, signal: stop.signal })) {
 *       if (event.event === "user.created") console.log(event.data.data.user.email);
 *     }
 *
 * A browser on another origin needs the service's CORS to allow the `Last-Event-ID` request header.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { BusEvent } from "./messages.js";
import type { components } from "./schema.js";

type Schemas = components["schemas"];

// The `event:` names the spec's SseEvent schema lists, written in by the generator: an event the spec does not
// name (a newer service's) is skipped, as the AsyncAPI document asks of consumers.
// @generated sse-event-names

/** The `event:` names of the stream. */
export type SseEventName = (typeof sseEventNames)[number];

type BusSseEvent<E> = E extends { type: infer T extends SseEventName } ? { event: T; id: string; data: E } : never;

/** One event of the stream: `event` names it and decides the type of `data` (its parsed `data:` line). */
export type SseEvent =
  | BusSseEvent<BusEvent>
  | { event: "tick"; id: string | undefined; data: Schemas["TickEventData"] }
  | { event: "reset"; id: string | undefined; data: Schemas["ResetEventData"] };

export interface EventStreamOptions {
  /** Where the API is, e.g. http://127.0.0.1:8000. */
  baseUrl: string;
  /** The current access token; asked again before every (re)connection, so a refreshed one is used. */
  accessToken: () => string | undefined | Promise<string | undefined>;
  /** Resume after this event id (the last one an earlier stream delivered). */
  lastEventId?: string;
  /** Have the service end each connection after this many seconds (`max_seconds`). */
  maxSeconds?: number;
  /** Reconnect with `Last-Event-ID` when a connection ends (default true); false: one connection only. */
  reconnect?: boolean;
  /** Stops the stream: the pending read ends and the iteration finishes. */
  signal?: AbortSignal;
  /** A fetch to use instead of the global one. */
  fetch?: typeof globalThis.fetch;
}

/** The service refused the stream (a status other than 200): e.g. 401 once the token can no longer be used. */
export class EventStreamError extends Error {
  readonly response: Response;
  /** The id to resume from with a new stream (e.g. after signing in again). */
  readonly lastEventId: string | undefined;

  constructor(response: Response, lastEventId: string | undefined) {
    super(`GET /api/v1/sse/stream answered ${response.status}`);
    this.name = "EventStreamError";
    this.response = response;
    this.lastEventId = lastEventId;
  }
}

function toEvent(message: EventSourceMessage): SseEvent | undefined {
  const names: readonly string[] = sseEventNames;
  if (message.event === undefined || !names.includes(message.event)) {
    return undefined;
  }
  return { event: message.event, id: message.id, data: JSON.parse(message.data) } as SseEvent;
}

function pause(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, milliseconds);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** The stream's events, one connection after another (see the options); ends when `signal` aborts. */
export async function* streamEvents(options: EventStreamOptions): AsyncGenerator<SseEvent, void, undefined> {
  const fetcher = options.fetch ?? globalThis.fetch;
  const query = options.maxSeconds === undefined ? "" : `?max_seconds=${options.maxSeconds}`;
  const url = `${options.baseUrl.replace(/\/+$/, "")}/api/v1/sse/stream${query}`;
  let lastEventId = options.lastEventId;
  let retry = 1000; // until the service sends `retry:`
  const stopped = (): boolean => options.signal?.aborted === true; // a call: TypeScript must not narrow it
  while (!stopped()) {
    const headers = new Headers({ Accept: "text/event-stream" });
    const token = await options.accessToken();
    if (token !== undefined) {
      headers.set("Authorization", `Bearer ${token}`);
    }
    if (lastEventId !== undefined) {
      headers.set("Last-Event-ID", lastEventId);
    }
    const pending: EventSourceMessage[] = [];
    const parser = createParser({
      onEvent: (message) => pending.push(message),
      onRetry: (milliseconds) => (retry = milliseconds),
    });
    let response: Response;
    try {
      response = await fetcher(url, { headers, signal: options.signal ?? null });
    } catch (error) {
      if (stopped() || options.reconnect === false) {
        throw error;
      }
      await pause(retry, options.signal); // the service is unreachable: try again, resuming
      continue;
    }
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel();
      throw new EventStreamError(response, lastEventId);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        parser.feed(value);
        for (const message of pending.splice(0)) {
          lastEventId = message.id ?? lastEventId;
          const event = toEvent(message);
          if (event !== undefined) {
            yield event;
          }
        }
      }
    } catch (error) {
      if (stopped()) {
        return;
      }
      if (options.reconnect === false) {
        throw error;
      }
    } finally {
      await reader.cancel().catch(() => undefined); // closes the connection when the caller stops early
    }
    if (options.reconnect === false) {
      return;
    }
    await pause(retry, options.signal);
  }
}
