// The whole flow of a frontend, with the libraries one uses (Apollo Client 4 for queries and
// subscriptions, graphql-ws under it), against a running Archivist with a worker:
// log in, upload a PDF, subscribe to its progress at once and follow it to READY, list the
// Inbox with thumbnails, search a word and compute the hit's box on the page's preview, log
// out and see the socket end. Prints one JSON object; the pytest side checks it.
//   node tests/js/flow.mjs http://127.0.0.1:8000 USER PASSWORD FILE.pdf WORD
import { readFile } from "node:fs/promises";
import { basename } from "node:path";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { isSubscriptionOperation } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [base, username, password, file, word] = process.argv.slice(2);
if (!word) {
  console.error("usage: node flow.mjs BASE_URL USER PASSWORD FILE.pdf WORD");
  process.exit(2);
}
const api = `${base}/graphql`;
let token = null;
const authorization = () => (token ? { Authorization: `Bearer ${token}` } : {});
const out = { events: [], subscriptionErrors: [] };

const wsClient = createClient({
  url: api.replace(/^http/, "ws"),
  webSocketImpl: WebSocket,
  connectionParams: authorization,
  lazy: true,
  shouldRetry: (event) => Boolean(event && typeof event.code === "number" && event.code !== 4403),
  retryAttempts: 2,
});

const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: ApolloLink.split(
    ({ query }) => isSubscriptionOperation(query),
    new GraphQLWsLink(wsClient),
    new HttpLink({
      uri: api,
      fetch: (uri, options) =>
        fetch(uri, { ...options, headers: { ...options.headers, ...authorization() } }),
    }),
  ),
});

function fail(message) {
  out.failure = message;
  console.log(JSON.stringify(out));
  process.exit(1);
}

// 1. Log in.
const login = await client.mutate({
  mutation: gql`mutation Login($u: String!, $p: String!) {
    login(username: $u, password: $p) { token errors { code message } }
  }`,
  variables: { u: username, p: password },
});
if (!login.data.login.token) fail(`login: ${JSON.stringify(login.data.login.errors)}`);
token = login.data.login.token;

// 2. Upload (the GraphQL multipart request spec; Apollo's HttpLink sends JSON only).
const form = new FormData();
form.append("operations", JSON.stringify({
  query: `mutation Up($file: Upload!) {
    uploadDocument(file: $file) { document { id title } errors { code message } }
  }`,
  variables: { file: null },
}));
form.append("map", JSON.stringify({ 0: ["variables.file"] }));
form.append("0", new Blob([await readFile(file)], { type: "application/pdf" }), basename(file));
const uploaded = await (await fetch(api, { method: "POST", body: form, headers: authorization() }))
  .json();
const document = uploaded.data?.uploadDocument?.document;
if (!document) fail(`upload: ${JSON.stringify(uploaded)}`);
out.documentId = document.id;

// 3. Subscribe at once and follow to the end of the stream.
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no READY within 120 s")), 120_000);
  client.subscribe({
    query: gql`subscription Progress($id: ID!) {
      documentProgress(documentId: $id) { documentId status pageNumber pagesDone pagesTotal }
    }`,
    variables: { id: document.id },
  }).subscribe({
    next: (result) => {
      if (result.error) out.subscriptionErrors.push(String(result.error.message));
      if (result.data) out.events.push(result.data.documentProgress);
    },
    error: (error) => { clearTimeout(timer); reject(error); },
    complete: () => { clearTimeout(timer); resolve(); },
  });
}).catch((error) => fail(`subscription: ${error.message}`));

// 4. The Inbox with thumbnails, as a list view asks for it.
const me = await client.query({
  query: gql`query Inbox {
    me { inbox { id children(first: 50) { edges { node {
      id title ... on Document { status thumbnailUrl }
    } } } } }
  }`,
  fetchPolicy: "network-only",
});
const listed = me.data.me.inbox.children.edges.map((edge) => edge.node);
out.listed = listed.map(({ id, title, status, thumbnailUrl }) => ({ id, title, status, thumbnailUrl }));
const mine = listed.find((node) => node.id === document.id);
if (!mine?.thumbnailUrl) fail("the uploaded document has no thumbnail in the listing");
const thumbnail = await fetch(mine.thumbnailUrl);
out.thumbnail = { status: thumbnail.status, type: thumbnail.headers.get("content-type"),
  bytes: (await thumbnail.arrayBuffer()).byteLength };

// 5. Search, with the hit's page in the same answer, and the box in preview pixels.
const found = await client.query({
  query: gql`query Find($q: String!) {
    search(query: $q, first: 5) { totalCount edges { node {
      document { id } pageNumber snippet highlights { text x0 y0 x1 y1 }
      page { id width height previewUrl(size: LARGE) }
    } } }
  }`,
  variables: { q: word },
  fetchPolicy: "network-only",
});
const hit = found.data.search?.edges.map((edge) => edge.node)
  .find((node) => node.document.id === document.id);
if (!hit) fail(`search found nothing of ours: ${JSON.stringify(found)}`);
const preview = await fetch(hit.page.previewUrl);
const image = Buffer.from(await preview.arrayBuffer());
const size = jpegSize(image);
const scale = size.width / hit.page.width;
const box = hit.highlights[0];
out.hit = {
  pageNumber: hit.pageNumber,
  snippet: hit.snippet,
  page: { width: hit.page.width, height: hit.page.height },
  previewUrl: hit.page.previewUrl,
  previewStatus: preview.status,
  previewSize: size,
  // The rectangle a UI draws on the preview image (pixels).
  box: box && {
    text: box.text,
    left: box.x0 * scale, top: box.y0 * scale, right: box.x1 * scale, bottom: box.y1 * scale,
  },
};

// 6. Log out: the token is revoked, and the open socket is closed by the server.
// (The socket of step 3 closed when its subscription completed; this one opens a new one.)
const connected = new Promise((resolve) => { const off = wsClient.on("connected", () => { off(); resolve(); }); });
const keepOpen = client.subscribe({ query: gql`subscription All { documentsProgress { status } }` })
  .subscribe({ next: () => {}, error: () => {} });
await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, 5000))]);
const closed = new Promise((resolve) => {
  const off = wsClient.on("closed", (event) => { off(); resolve({ code: event.code, reason: event.reason }); });
});
const logout = await client.mutate({ mutation: gql`mutation Out { logout { ok } }` });
out.logout = logout.data.logout;
const started = Date.now();
const ended = await Promise.race([
  closed, new Promise((resolve) => setTimeout(() => resolve(null), 30_000)),
]);
out.socketClosed = ended && { ...ended, afterMs: Date.now() - started };
keepOpen.unsubscribe();
await wsClient.dispose();
console.log(JSON.stringify(out));
process.exit(0);

function jpegSize(bytes) {
  // The frame header (SOF0-SOF15 except DHT, JPG and DAC) holds height and width.
  let at = 2;
  while (at < bytes.length) {
    const marker = bytes[at + 1];
    const length = bytes.readUInt16BE(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    at += 2 + length;
  }
  throw new Error("not a JPEG");
}
