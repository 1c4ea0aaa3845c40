/** The chat's path and the subprotocol the service speaks. */
export const chatPath = "/api/v1/ws/chat";
export const chatProtocol = "charter.chat.v1";
/** The connection closed (or never opened) before the awaited message came; `code` is the close code. */
export class ChatClosed extends Error {
    code;
    reason;
    constructor(code, reason) {
        super(`the chat connection closed with ${code}${reason ? ` (${reason})` : ""}`);
        this.name = "ChatClosed";
        this.code = code;
        this.reason = reason;
    }
}
/** One chat connection: `send` client messages, `next` the server's, in the order they came. */
export class ChatConnection {
    /** The `welcome` message the service opened the connection with. */
    welcome;
    socket;
    received = [];
    waiters = [];
    closed;
    constructor(socket, welcome) {
        this.socket = socket;
        this.welcome = welcome;
        socket.addEventListener("message", (event) => this.deliver(JSON.parse(String(event.data))));
        socket.addEventListener("close", (event) => this.end(new ChatClosed(event.code, event.reason)));
    }
    /** Opens a connection and waits for the service's `welcome`. */
    static open(options) {
        const Socket = options.WebSocket ?? globalThis.WebSocket;
        const url = `${options.baseUrl.replace(/^http/, "ws").replace(/\/+$/, "")}${chatPath}`;
        const socket = new Socket(url, [chatProtocol, `bearer.${options.accessToken}`]);
        return new Promise((resolve, reject) => {
            const refused = (event) => reject(new ChatClosed(event.code, event.reason));
            // A refused handshake (HTTP 403) may surface as an error event alone: 1006 is the code for "no close frame".
            const failed = () => reject(new ChatClosed(1006, "the handshake failed"));
            socket.addEventListener("close", refused, { once: true });
            socket.addEventListener("error", failed, { once: true });
            socket.addEventListener("message", (event) => {
                socket.removeEventListener("close", refused);
                socket.removeEventListener("error", failed);
                const welcome = JSON.parse(String(event.data));
                if (welcome.type !== "welcome") {
                    socket.close(1002, "expected welcome");
                    reject(new Error(`the chat opened with ${welcome.type}, not welcome`));
                    return;
                }
                resolve(new ChatConnection(socket, welcome));
            }, { once: true });
        });
    }
    /** Sends one client message (a text frame of JSON). */
    send(message) {
        this.socket.send(JSON.stringify(message));
    }
    async next(type) {
        for (;;) {
            const message = await this.take();
            if (type === undefined || message.type === type) {
                return message;
            }
        }
    }
    /** Closes the connection (1000, normal closure, by default). */
    close(code = 1000, reason = "") {
        this.socket.close(code, reason);
    }
    take() {
        const message = this.received.shift();
        if (message !== undefined) {
            return Promise.resolve(message);
        }
        if (this.closed !== undefined) {
            return Promise.reject(this.closed);
        }
        return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    }
    deliver(message) {
        const waiter = this.waiters.shift();
        if (waiter === undefined) {
            this.received.push(message);
        }
        else {
            waiter.resolve(message);
        }
    }
    end(closed) {
        this.closed = closed;
        for (const waiter of this.waiters.splice(0)) {
            waiter.reject(closed);
        }
    }
}
