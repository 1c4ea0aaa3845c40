/**
 * A typed client for the WebSocket chat (`/api/v1/ws/chat`, spec/asyncapi.yaml): what it sends and receives are
 * the AsyncAPI document's client and server messages, so a misspelt frame does not compile.
 *
 *     const chat = await ChatConnection.open({ baseUrl: "http://127.0.0.1:8000", accessToken });
 *     chat.send({ type: "join", room: "general" });
 *     const joined = await chat.next("joined");          // typed as the `joined` message
 *     chat.send({ type: "say", room: "general", text: "Hello" });
 *     const said = await chat.next("message");
 *     chat.close();
 *
 * The token travels as the `bearer.<token>` subprotocol, the only way a browser can send it on the handshake; the
 * service selects `charter.chat.v1` and never echoes the token.
 */
import type { ChatClientMessage, ChatServerMessage } from "./messages.js";

export type { ChatClientMessage, ChatServerMessage };

/** The chat's path and the subprotocol the service speaks. */
export const chatPath = "/api/v1/ws/chat";
export const chatProtocol = "charter.chat.v1";

/** One server message by its `type` (`ChatMessageOf<"joined">`, ...). */
export type ChatMessageOf<T extends ChatServerMessage["type"]> = Extract<ChatServerMessage, { type: T }>;

export interface ChatOptions {
  /** Where the API is, e.g. http://127.0.0.1:8000 (its http/https scheme becomes ws/wss). */
  baseUrl: string;
  /** A valid access token (from `POST /api/v1/auth/login`). */
  accessToken: string;
  /** A WebSocket constructor to use instead of the global one. */
  WebSocket?: typeof WebSocket;
}

/** The connection closed (or never opened) before the awaited message came; `code` is the close code. */
export class ChatClosed extends Error {
  readonly code: number;
  readonly reason: string;

  constructor(code: number, reason: string) {
    super(`the chat connection closed with ${code}${reason ? ` (${reason})` : ""}`);
    this.name = "ChatClosed";
    this.code = code;
    this.reason = reason;
  }
}

type Waiter = { resolve: (message: ChatServerMessage) => void; reject: (error: ChatClosed) => void };

/** One chat connection: `send` client messages, `next` the server's, in the order they came. */
export class ChatConnection {
  /** The `welcome` message the service opened the connection with. */
  readonly welcome: ChatMessageOf<"welcome">;
  private readonly socket: WebSocket;
  private readonly received: ChatServerMessage[] = [];
  private readonly waiters: Waiter[] = [];
  private closed: ChatClosed | undefined;

  private constructor(socket: WebSocket, welcome: ChatMessageOf<"welcome">) {
    this.socket = socket;
    this.welcome = welcome;
    socket.addEventListener("message", (event) => this.deliver(JSON.parse(String(event.data)) as ChatServerMessage));
    socket.addEventListener("close", (event) => this.end(new ChatClosed(event.code, event.reason)));
  }

  /** Opens a connection and waits for the service's `welcome`. */
  static open(options: ChatOptions): Promise<ChatConnection> {
    const Socket = options.WebSocket ?? globalThis.WebSocket;
    const url = `${options.baseUrl.replace(/^http/, "ws").replace(/\/+$/, "")}${chatPath}`;
    const socket = new Socket(url, [chatProtocol, `bearer.${options.accessToken}`]);
    return new Promise((resolve, reject) => {
      const refused = (event: CloseEvent): void => reject(new ChatClosed(event.code, event.reason));
      // A refused handshake (HTTP 403) may surface as an error event alone: 1006 is the code for "no close frame".
      const failed = (): void => reject(new ChatClosed(1006, "the handshake failed"));
      socket.addEventListener("close", refused, { once: true });
      socket.addEventListener("error", failed, { once: true });
      socket.addEventListener(
        "message",
        (event) => {
          socket.removeEventListener("close", refused);
          socket.removeEventListener("error", failed);
          const welcome = JSON.parse(String(event.data)) as ChatServerMessage;
          if (welcome.type !== "welcome") {
            socket.close(1002, "expected welcome");
            reject(new Error(`the chat opened with ${welcome.type}, not welcome`));
            return;
          }
          resolve(new ChatConnection(socket, welcome));
        },
        { once: true },
      );
    });
  }

  /** Sends one client message (a text frame of JSON). */
  send(message: ChatClientMessage): void {
    this.socket.send(JSON.stringify(message));
  }

  /** The next server message; with `type`, the next one of that type (those before it are dropped). */
  async next(): Promise<ChatServerMessage>;
  async next<T extends ChatServerMessage["type"]>(type: T): Promise<ChatMessageOf<T>>;
  async next(type?: ChatServerMessage["type"]): Promise<ChatServerMessage> {
    for (;;) {
      const message = await this.take();
      if (type === undefined || message.type === type) {
        return message;
      }
    }
  }

  /** Closes the connection (1000, normal closure, by default). */
  close(code = 1000, reason = ""): void {
    this.socket.close(code, reason);
  }

  private take(): Promise<ChatServerMessage> {
    const message = this.received.shift();
    if (message !== undefined) {
      return Promise.resolve(message);
    }
    if (this.closed !== undefined) {
      return Promise.reject(this.closed);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private deliver(message: ChatServerMessage): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) {
      this.received.push(message);
    } else {
      waiter.resolve(message);
    }
  }

  private end(closed: ChatClosed): void {
    this.closed = closed;
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(closed);
    }
  }
}
