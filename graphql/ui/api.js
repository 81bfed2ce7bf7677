// Talking to Archivist: GraphQL over HTTP (fetch; XMLHttpRequest for uploads, whose progress
// events fetch does not give), graphql-transport-ws subscriptions with the graphql-ws client
// that the app serves for GraphiQL (the global `graphqlWs`), and the token of this tab.

const ENDPOINT = "/graphql";
const TOKEN_KEY = "archivist.token";

// extensions.code values that say the token is gone: the person must log in again.
const TOKEN_ENDED = new Set(["UNAUTHENTICATED", "INVALID_TOKEN", "TOKEN_EXPIRED", "TOKEN_REVOKED"]);

// The websocket close code for a refused or ended token; retrying cannot help.
export const FORBIDDEN_CLOSE = 4403;

/** A refusal or failure, with each error's message and machine-readable code. */
export class ApiError extends Error {
  constructor(errors) {
    super(errors.map(describeError).join("\n"));
    this.name = "ApiError";
    this.errors = errors;
  }

  get codes() {
    return this.errors.map((error) => error.code).filter(Boolean);
  }

  get tokenEnded() {
    return this.codes.some((code) => TOKEN_ENDED.has(code));
  }
}

/** "message (CODE)", or the message alone when there is no code. */
export function describeError(error) {
  return error.code ? `${error.message} (${error.code})` : error.message;
}

/** Top-level GraphQL errors: the code is in extensions.code. */
export function graphqlErrors(errors) {
  return new ApiError(
    errors.map((error) => ({
      message: error.message || "Unknown error",
      code: error.extensions?.code || null,
    })),
  );
}

/** A mutation payload's `errors: [UserError!]!` (code, message, field). */
export function userErrors(errors) {
  return new ApiError(
    errors.map((error) => ({
      message: error.field ? `${error.field}: ${error.message}` : error.message,
      code: error.code,
    })),
  );
}

function unreachable() {
  return new ApiError([
    { message: "The server cannot be reached; check the connection and try again.", code: null },
  ]);
}

/** The token of this browser tab (sessionStorage: gone when the tab closes). */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

function authorization() {
  const token = session.token;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// The body of an HTTP answer: GraphQL's JSON, or a readable error for anything else
// (a proxy's HTML page, an empty 502).
function decode(status, statusText, text) {
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (body === null || typeof body !== "object") {
    throw new ApiError([
      { message: `The server answered ${status} ${statusText || ""}`.trim(), code: null },
    ]);
  }
  if (Array.isArray(body.errors) && body.errors.length) throw graphqlErrors(body.errors);
  if (!body.data) throw new ApiError([{ message: `The server answered ${status}`, code: null }]);
  return body.data;
}

/** Run a query or mutation; resolves with `data`, rejects with an ApiError. */
export async function request(query, variables = {}) {
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...authorization() },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw unreachable();
  }
  return decode(response.status, response.statusText, await response.text());
}

/**
 * Send `file` as variable `file` of `query` with the GraphQL multipart request spec.
 * `onProgress(sent, total)` follows the HTTP upload itself. Returns { done, cancel }: `done`
 * resolves with `data` once the server answered.
 */
export function upload(query, variables, file, onProgress) {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables: { ...variables, file: null } }));
  form.append("map", JSON.stringify({ 0: ["variables.file"] }));
  form.append("0", file, file.name);
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open("POST", ENDPOINT);
    for (const [name, value] of Object.entries(authorization())) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      try {
        resolve(decode(xhr.status, xhr.statusText, xhr.responseText));
      } catch (error) {
        reject(error);
      }
    });
    xhr.addEventListener("error", () => reject(unreachable()));
    xhr.addEventListener("abort", () =>
      reject(new ApiError([{ message: "The upload was cancelled.", code: null }])),
    );
    xhr.send(form);
  });
  return { done, cancel: () => xhr.abort() };
}

/** A key for `uploadDocument(idempotencyKey:)`, new for each upload. */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * A graphql-transport-ws client on this server's /graphql, sending the token in
 * `connection_init`. `on.connected(again)` runs on every (re)connection; `on.forbidden(reason)`
 * when the server closes the socket with 4403 (the token ended: no retry).
 */
export function connect(on) {
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${ENDPOINT}`;
  let connections = 0;
  const client = globalThis.graphqlWs.createClient({
    url,
    connectionParams: () => authorization(),
    retryAttempts: 30,
    shouldRetry: (event) =>
      Boolean(event && typeof event.code === "number" && event.code !== FORBIDDEN_CLOSE),
  });
  client.on("connected", () => {
    connections += 1;
    on.connected(connections > 1);
  });
  client.on("closed", (event) => {
    if (event && event.code === FORBIDDEN_CLOSE) on.forbidden(describeError(closeReason(event)));
    else on.disconnected();
  });
  return client;
}

/** Subscribe with `client`; `sink.next(data)`, `sink.error(ApiError)`. Returns unsubscribe. */
export function subscribe(client, query, variables, sink) {
  return client.subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) sink.error(graphqlErrors(result.errors));
        if (result.data) sink.next(result.data);
      },
      error: (error) => sink.error(asApiError(error)),
      complete: () => sink.complete?.(),
    },
  );
}

// The server closes a socket with "CODE: message" as the reason (4403: the token ended).
function closeReason(event) {
  const found = /^([A-Z_]+): (.*)$/s.exec(event.reason || "");
  if (found) return { code: found[1], message: found[2] };
  const reason = event.reason ? `: ${event.reason}` : "";
  return { code: null, message: `the connection closed (${event.code}${reason})` };
}

// graphql-ws reports an array of GraphQL errors, a CloseEvent or an Error.
function asApiError(error) {
  if (Array.isArray(error)) return graphqlErrors(error);
  if (error && typeof error.code === "number") {
    const { message, code } = closeReason(error);
    return new ApiError([{ message: `Live updates stopped: ${message}`, code }]);
  }
  const message = `Live updates stopped: ${error?.message || error}`;
  return new ApiError([{ message, code: null }]);
}
