/**
 * A tiny typed client for the Charter API, built on openapi-fetch and the types in ./schema (both generated from
 * spec/openapi.yaml). Copy client.ts and schema.d.ts into a frontend as they are, or install this folder as the
 * package @charter/api-client (its dist/ is this file compiled): either way it needs `openapi-fetch` at run time
 * and nothing else. Paths, parameters, bodies and answers are checked by the compiler; a spec change that breaks your calls
 * breaks your build.
 *
 *     const api = createCharterClient({ baseUrl: "http://127.0.0.1:8000", accessToken: () => session.token });
 *     const result = await api.GET("/api/v1/users/{user_id}", { params: { path: { user_id } } });
 *     const problem = problemOf("/api/v1/users/{user_id}", "get", result);
 *     if (problem?.status === 404) { ... }   // only the statuses the spec declares for this operation type-check
 *
 * Media types: openapi-fetch sends JSON with `Content-Type: application/json`. Operations that take another media
 * type need it set by the caller: JSON Merge Patch (`headers: { "Content-Type": "application/merge-patch+json" }`),
 * the OAuth2 password form (a `bodySerializer` that builds URLSearchParams) and multipart uploads (a FormData body).
 */
import createClient, {
  type ClientOptions,
  type FetchResponse,
  type MaybeOptionalInit,
  type Middleware,
} from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** An RFC 9457 problem document: every error the service answers is one (`application/problem+json`). */
export type Problem = components["schemas"]["Problem"];

/** A method of the spec's operations, lower case as in the spec. */
export type HttpMethod = "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";
/** The paths that have an operation for method `M`. */
export type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: paths[P] extends { [K in M]: object } ? P : never;
}[keyof paths];
/** What a call of one operation takes: its parameters and body, and fetch's own options. */
export type RequestOf<P extends keyof paths, M extends HttpMethod> = MaybeOptionalInit<paths[P], M>;
type InitArgs<P extends keyof paths, M extends HttpMethod> =
  undefined extends RequestOf<P, M> ? [init?: RequestOf<P, M>] : [init: RequestOf<P, M>];

// A marker no value carries at run time: it ties a result to the operation that made it, so problemOf refuses
// the result of another one even where both have the same shape.
declare const operation: unique symbol;
type Made<P, M extends string> = { readonly [operation]?: `${Uppercase<M>} ${P & string}` };

/** What a call of one operation resolves to: `{ data, error, response }`, typed by the spec. */
export type ResultOf<P extends keyof paths, M extends HttpMethod> = FetchResponse<
  paths[P][M] & Record<string | number, unknown>,
  RequestOf<P, M>,
  `${string}/${string}`
> &
  Made<P, M>;

/**
 * The client: `api.GET(path, init)`, `api.POST(...)`, ... each resolving to `{ data, error, response }`.
 *
 * Unlike openapi-fetch's own methods, `init` is not a type parameter inferred from the call, so TypeScript checks
 * it against the operation's exact parameters and body: a field the spec does not have (a typo in an all-optional
 * PATCH body, say) does not compile. A deprecated operation has its own signature, marked `@deprecated`, so
 * editors strike its calls through and say when it stops answering.
 */
export interface CharterClient {
  // @generated deprecated-overloads
  GET<P extends PathsWith<"get">>(url: P, ...init: InitArgs<P, "get">): Promise<ResultOf<P, "get">>;
  PUT<P extends PathsWith<"put">>(url: P, ...init: InitArgs<P, "put">): Promise<ResultOf<P, "put">>;
  POST<P extends PathsWith<"post">>(url: P, ...init: InitArgs<P, "post">): Promise<ResultOf<P, "post">>;
  DELETE<P extends PathsWith<"delete">>(url: P, ...init: InitArgs<P, "delete">): Promise<ResultOf<P, "delete">>;
  OPTIONS<P extends PathsWith<"options">>(url: P, ...init: InitArgs<P, "options">): Promise<ResultOf<P, "options">>;
  HEAD<P extends PathsWith<"head">>(url: P, ...init: InitArgs<P, "head">): Promise<ResultOf<P, "head">>;
  PATCH<P extends PathsWith<"patch">>(url: P, ...init: InitArgs<P, "patch">): Promise<ResultOf<P, "patch">>;
  TRACE<P extends PathsWith<"trace">>(url: P, ...init: InitArgs<P, "trace">): Promise<ResultOf<P, "trace">>;
  /** Add middleware (see openapi-fetch's `use`). */
  use(...middleware: Middleware[]): void;
  /** Remove middleware added with `use`. */
  eject(...middleware: Middleware[]): void;
}

export interface CharterClientOptions extends ClientOptions {
  /** Where the API is, e.g. http://127.0.0.1:8000 (`make run`) or http://127.0.0.1:4010 (`make mock`). */
  baseUrl: string;
  /** The current access token, or undefined when signed out; asked before every request. */
  accessToken?: () => string | undefined | Promise<string | undefined>;
}

export function createCharterClient({ accessToken, ...options }: CharterClientOptions): CharterClient {
  const client = createClient<paths>(options);
  if (accessToken !== undefined) {
    client.use(bearerAuth(accessToken));
  }
  // The same object, typed more strictly: openapi-fetch's methods accept any init their inference allows (its
  // rest parameter adds an index signature, so the compiler cannot relate the two signatures itself).
  return client as unknown as CharterClient;
}

/** Sends `Authorization: Bearer <token>` when there is a token and the call did not set its own header. */
export function bearerAuth(accessToken: () => string | undefined | Promise<string | undefined>): Middleware {
  return {
    async onRequest({ request }) {
      const token = await accessToken();
      if (token !== undefined && !request.headers.has("Authorization")) {
        request.headers.set("Authorization", `Bearer ${token}`);
      }
      return request;
    },
  };
}

// The error statuses (4xx and 5xx) each operation declares in spec/openapi.yaml: the generator writes this table,
// so the problem union below is exactly the spec's, and problemOf can refuse a status the contract does not allow.
// @generated problem-statuses

type ProblemTable = typeof problemStatuses;
/** A path of the API (the spec's template, e.g. "/api/v1/users/{user_id}"). */
export type ProblemPath = keyof ProblemTable;
/** A method of that path, lower case as in the spec ("get", "post", ...). */
export type ProblemMethod<P extends ProblemPath> = keyof ProblemTable[P] & string;
/** The error statuses the spec declares for one operation. */
export type ProblemStatus<P extends ProblemPath, M extends ProblemMethod<P>> =
  ProblemTable[P][M] extends readonly (infer S extends number)[] ? S : never;

type ResponsesOf<P extends ProblemPath, M extends string> = P extends keyof paths
  ? M extends keyof paths[P]
    ? paths[P][M] extends { responses: infer R }
      ? R
      : never
    : never
  : never;
type ProblemBody<R, S> = S extends keyof R
  ? R[S] extends { content: { "application/problem+json": infer B } }
    ? B
    : Problem
  : Problem;

/**
 * The typed error union of one operation: one member per declared error status, each with its own problem body
 * (e.g. the readiness problem lists its checks). `switch (problem.status)` narrows it; a case for a status the spec
 * does not declare does not compile.
 */
export type ApiProblem<P extends ProblemPath, M extends ProblemMethod<P>> = {
  [S in ProblemStatus<P, M>]: { status: S; problem: ProblemBody<ResponsesOf<P, M>, S>; response: Response };
}[ProblemStatus<P, M>];

/** The service answered something its contract does not allow (a status or a media type it does not declare). */
export class ContractViolation extends Error {
  // A declared field, not a parameter property: those are not erasable syntax (Vite's `erasableSyntaxOnly`).
  readonly response: Response;

  constructor(message: string, response: Response) {
    super(message);
    this.name = "ContractViolation";
    this.response = response;
  }
}

/**
 * The problem of a failed call, typed by the operation's declared error statuses; undefined when the call did not
 * fail (a 1xx, 2xx or 3xx answer). Throws ContractViolation when the status is not declared for this operation or
 * the body is not `application/problem+json`.
 */
export function problemOf<P extends ProblemPath, M extends ProblemMethod<P>>(
  path: P,
  method: M,
  result: { error?: unknown; response: Response } & Made<NoInfer<P>, NoInfer<M>>,
): ApiProblem<P, M> | undefined {
  const { response } = result;
  if (response.status < 400) {
    return undefined;
  }
  const table: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>> = problemStatuses;
  const declared = table[path]?.[method] ?? [];
  const where = `${method.toUpperCase()} ${path}`;
  if (!declared.includes(response.status)) {
    throw new ContractViolation(`${where} answered ${response.status}, which the spec does not declare`, response);
  }
  const mediaType = (response.headers.get("Content-Type") ?? "").split(";")[0]?.trim();
  if (mediaType !== "application/problem+json") {
    throw new ContractViolation(`${where} answered ${response.status} as ${mediaType}, not a problem`, response);
  }
  return { status: response.status, problem: result.error, response } as ApiProblem<P, M>;
}
