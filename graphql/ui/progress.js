// Archivist's live progress page: log in, upload, watch every page of your documents move from
// waiting to done over the `documentsProgress` subscription, open a document, search.
// Plain JavaScript modules, no build step; everything goes through the GraphQL API.
import {
  ApiError,
  connect,
  describeError,
  newKey,
  request,
  session,
  subscribe,
  upload,
  userErrors,
} from "./api.js";
import { fill, h, words } from "./dom.js";
import { DOCUMENT_PAGES, SEARCH, hitItems, showDocument } from "./viewer.js";

const LOGIN = `
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token user { username } errors { code message field }
    }
  }`;
const LOGOUT = `mutation Logout { logout { ok errors { code message } } }`;
const DOCUMENT_FIELDS = `id title status error pageCount pagesProcessed thumbnailUrl`;
const FIELDS = DOCUMENT_FIELDS.split(" ");
// Only the first 50 pages of a document get a square; the count covers all of them.
const SQUARES = 50;
const PAGE_STATES = `pages(first: ${SQUARES}) { edges { node { number status error } } }`;
const DOCUMENTS = `
  query Documents {
    me {
      username
      inbox { children(first: 25, orderBy: { by: CREATED, direction: DESC },
                       filter: { kind: DOCUMENT }) {
        edges { node { ... on Document { ${DOCUMENT_FIELDS} ${PAGE_STATES} } } }
      } }
    }
  }`;
const ONE_DOCUMENT = `
  query OneDocument($id: ID!) { document(id: $id) { ${DOCUMENT_FIELDS} ${PAGE_STATES} } }`;
const UPLOAD = `
  mutation Upload($file: Upload!, $idempotencyKey: String) {
    uploadDocument(file: $file, idempotencyKey: $idempotencyKey) {
      document { ${DOCUMENT_FIELDS} }
      duplicateOf { id title }
      errors { code message field }
    }
  }`;
const PROGRESS = `
  subscription Progress {
    documentsProgress {
      documentId status pageNumber pagesDone pagesTotal message
      document { ${DOCUMENT_FIELDS} }
    }
  }`;

const $ = (id) => document.getElementById(id);
const view = {
  who: $("who"),
  username: $("username"),
  live: $("live"),
  alert: $("alert"),
  alertText: $("alert-text"),
  login: $("login-view"),
  loginForm: $("login-form"),
  loginError: $("login-error"),
  app: $("app-view"),
  drop: $("drop"),
  fileInput: $("file-input"),
  uploads: $("uploads"),
  documents: $("documents"),
  documentsEmpty: $("documents-empty"),
  announce: $("announce"),
  searchForm: $("search-form"),
  searchInput: $("search-input"),
  searchSummary: $("search-summary"),
  hits: $("hits"),
  viewer: {
    section: $("viewer"),
    title: $("viewer-title"),
    summary: $("viewer-summary"),
    pages: $("viewer-pages"),
    more: $("viewer-more"),
  },
};

// ---------------------------------------------------------------------------------------------
// Errors

function showError(error) {
  if (error instanceof ApiError && error.tokenEnded) {
    signOut(`Your session ended: ${error.message}`);
    return;
  }
  view.alertText.textContent = error instanceof Error ? error.message : String(error);
  view.alert.hidden = false;
}

$("alert-close").addEventListener("click", () => {
  view.alert.hidden = true;
});

// ---------------------------------------------------------------------------------------------
// Documents and their pages, kept live by progress events

// id -> { id, title, status, ..., pages: Map(number -> status), failures: Map(number -> why) }
const documents = new Map();
// Bumped when someone signs in or out: answers to an earlier session's requests are dropped.
let generation = 0;
// While a snapshot is being fetched, the events that arrive are kept here and applied again
// on top of it, so a snapshot read before an event never undoes that event.
const logs = new Set();
let socket = null;
let stopProgress = null;

function remember(fields, { first = false } = {}) {
  let doc = documents.get(fields.id);
  if (!doc) {
    doc = { pages: new Map(), failures: new Map(), element: null };
    documents.set(fields.id, doc);
  }
  for (const name of FIELDS) if (fields[name] !== undefined) doc[name] = fields[name];
  if (fields.pages) {
    const pages = fields.pages.edges.map(({ node }) => node);
    doc.pages = new Map(pages.map((page) => [page.number, page.status]));
    doc.failures = new Map(pages.filter((page) => page.error).map((p) => [p.number, p.error]));
  }
  render(doc, { first });
  return doc;
}

// While a snapshot and the events since are applied, the documents they touch are drawn once
// at the end (never the snapshot's older state in between).
let held = null; // Map(doc -> first) while drawing is held

function render(doc, { first = false } = {}) {
  if (held) {
    held.set(doc, held.get(doc) || first);
    return;
  }
  const squares = [];
  for (let number = 1; number <= Math.min(doc.pageCount || 0, SQUARES); number += 1) {
    const status = doc.pages.get(number) || "PENDING";
    const why = status === "FAILED" ? doc.failures.get(number) : null;
    const label = `Page ${number}: ${words(status)}${why ? ` (${why})` : ""}`;
    squares.push(
      h(
        "li",
        { class: `page page-${status}`, data: { number, status }, title: label },
        h("span", { "aria-hidden": "true" }, String(number)),
        h("span", { class: "visually-hidden" }, label),
      ),
    );
  }
  const element = h(
    "li",
    { class: "document", data: { documentId: doc.id, status: doc.status } },
    doc.thumbnailUrl
      ? h("img", { class: "thumbnail", src: doc.thumbnailUrl, alt: "", width: 48, height: 64 })
      : h("div", { class: "thumbnail placeholder", "aria-hidden": "true" }),
    h(
      "div",
      { class: "document-body" },
      h(
        "button",
        { type: "button", class: "link title", onclick: () => openDocument(doc.id) },
        doc.title,
      ),
      h(
        "p",
        { class: "document-state" },
        h("span", { class: `status status-${doc.status}` }, words(doc.status)),
        h("span", { class: "count" }, ` ${doc.pagesProcessed} / ${doc.pageCount} pages`),
      ),
      doc.status === "FAILED" && doc.error ? h("p", { class: "error small" }, doc.error) : null,
      h("ol", { class: "pages", "aria-label": `Pages of ${doc.title}` }, squares),
    ),
  );
  // An upload of this document says how its processing goes.
  for (const upload of view.uploads.querySelectorAll(".upload[data-state=uploaded]")) {
    if (upload.dataset.documentId !== doc.id) continue;
    upload.querySelector(".upload-state").textContent =
      doc.status === "PROCESSING"
        ? `processing: ${doc.pagesProcessed} of ${doc.pageCount} pages`
        : words(doc.status);
  }
  if (doc.element) doc.element.replaceWith(element);
  else if (first) view.documents.prepend(element);
  else view.documents.append(element);
  doc.element = element;
  view.documentsEmpty.hidden = documents.size > 0;
}

/** Fetch a snapshot with `read`, apply it with `apply`, then replay the events meanwhile. */
async function snapshot(read, apply) {
  const log = [];
  const mine = generation;
  logs.add(log);
  try {
    const data = await read();
    if (generation !== mine) return;
    held = new Map();
    try {
      apply(data);
      for (const event of log) applyEvent(event, { replay: true });
    } finally {
      const touched = held;
      held = null;
      for (const [doc, first] of touched) if (documents.get(doc.id) === doc) render(doc, { first });
    }
  } finally {
    logs.delete(log);
  }
}

async function loadDocuments() {
  await snapshot(
    () => request(DOCUMENTS),
    (data) => {
      fill(view.username, data.me.username);
      for (const { node } of data.me.inbox.children.edges) remember(node);
      view.documentsEmpty.hidden = documents.size > 0;
    },
  );
}

const refreshing = new Map(); // id -> promise of the refresh under way

function refreshDocument(id) {
  if (refreshing.has(id)) return refreshing.get(id);
  const done = snapshot(
    () => request(ONE_DOCUMENT, { id }),
    (data) => {
      if (data.document) remember(data.document);
      else forget(id);
    },
  )
    .catch(showError)
    .finally(() => refreshing.delete(id));
  refreshing.set(id, done);
  return done;
}

function forget(id) {
  const doc = documents.get(id);
  if (doc?.element) doc.element.remove();
  documents.delete(id);
  view.documentsEmpty.hidden = documents.size > 0;
}

const PAGE_EVENTS = { STARTED: "PROCESSING", PAGE_DONE: "DONE", PAGE_FAILED: "FAILED" };

function onProgress(event) {
  for (const log of logs) log.push(event);
  applyEvent(event, { replay: false });
}

function applyEvent(event, { replay }) {
  let doc = documents.get(event.documentId);
  if (!doc) {
    if (!event.document) return; // no longer ours to read
    doc = remember(event.document, { first: true });
    if (!replay) refreshDocument(doc.id);
  } else if (event.document) {
    remember(event.document);
  }
  doc.pageCount = event.pagesTotal;
  doc.pagesProcessed = event.pagesDone;
  const pageStatus = PAGE_EVENTS[event.status];
  if (pageStatus && event.pageNumber) {
    doc.pages.set(event.pageNumber, pageStatus);
    if (event.status === "PAGE_FAILED") doc.failures.set(event.pageNumber, event.message);
  }
  if (event.status === "READY" || event.status === "FAILED") doc.status = event.status;
  render(doc);
  if (replay) return;
  if (event.status === "QUEUED") refreshDocument(doc.id); // processed again: which pages wait
  if (event.status === "READY" || event.status === "FAILED") {
    refreshDocument(doc.id); // the thumbnail, and every page's final state
    view.announce.textContent = `${doc.title} is ${words(event.status)}.`;
  }
  if (openId === doc.id && event.status !== "STARTED") refreshViewerSoon();
}

function startProgress() {
  // A socket's events count only while it is this session's (an old one may close late).
  const client = connect({
    connected: (again) => {
      if (socket !== client) return;
      setLive("live", "Live");
      if (again) loadDocuments().catch(showError); // events may have been missed meanwhile
    },
    disconnected: () => {
      if (socket === client) setLive("connecting", "Reconnecting…");
    },
    forbidden: (reason) => {
      if (socket !== client) return;
      signOut(`Your session ended: ${reason}`);
    },
  });
  socket = client;
  stopProgress = subscribe(client, PROGRESS, {}, {
    next: (data) => {
      if (socket === client) onProgress(data.documentsProgress);
    },
    error: (error) => {
      if (socket !== client) return;
      setLive("stopped", "Not live");
      showError(error);
    },
  });
}

function setLive(state, text) {
  view.live.dataset.state = state;
  view.live.textContent = text;
}

// ---------------------------------------------------------------------------------------------
// Uploads, one after another, each with the HTTP upload's own progress

const waiting = [];
let uploading = false;
let sending = null; // the upload under way: { done, cancel }

function queueFiles(files) {
  for (const file of files) {
    const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
    const state = h("span", { class: "upload-state" }, "waiting");
    const item = h(
      "li",
      { class: "upload", data: { state: "waiting" } },
      h("span", { class: "upload-name" }, file.name),
      bar,
      state,
    );
    view.uploads.prepend(item);
    waiting.push({ file, item, bar, state });
  }
  if (!uploading) nextUpload();
}

async function nextUpload() {
  const job = waiting.shift();
  if (!job) {
    uploading = false;
    return;
  }
  uploading = true;
  const { file, item, bar, state } = job;
  const mark = (name, text) => {
    item.dataset.state = name;
    state.textContent = text;
  };
  mark("sending", "0 %");
  const mine = generation;
  sending = upload(UPLOAD, { idempotencyKey: newKey() }, file, (sent, total) => {
    const percent = Math.floor((100 * sent) / total);
    bar.value = percent;
    Object.assign(item.dataset, { sent, total });
    mark(sent < total ? "sending" : "stored", sent < total ? `${percent} %` : "sent, storing…");
  });
  try {
    const payload = (await sending.done).uploadDocument;
    if (generation !== mine) return;
    if (payload.errors.length) {
      const error = userErrors(payload.errors);
      const duplicate = payload.duplicateOf;
      mark("refused", describeError(error.errors[0]));
      item.append(h("span", { class: "error", role: "alert" }, error.message));
      if (duplicate) {
        const open = () => openDocument(duplicate.id);
        const label = `Open “${duplicate.title}”`;
        item.append(h("button", { type: "button", class: "link", onclick: open }, label));
      }
    } else {
      mark("uploaded", "uploaded, processing…");
      item.dataset.documentId = payload.document.id;
      const doc = remember(payload.document, { first: !documents.has(payload.document.id) });
      refreshDocument(doc.id);
    }
  } catch (error) {
    mark("failed", "failed");
    item.append(h("span", { class: "error", role: "alert" }, error.message));
    if (error instanceof ApiError && error.tokenEnded) showError(error);
  } finally {
    sending = null;
    nextUpload();
  }
}

view.fileInput.addEventListener("change", () => {
  queueFiles([...view.fileInput.files]);
  view.fileInput.value = "";
});
for (const name of ["dragenter", "dragover"]) {
  view.drop.addEventListener(name, (event) => {
    event.preventDefault();
    view.drop.classList.add("dragging");
  });
}
view.drop.addEventListener("dragleave", () => view.drop.classList.remove("dragging"));
view.drop.addEventListener("drop", (event) => {
  event.preventDefault();
  view.drop.classList.remove("dragging");
  queueFiles([...event.dataTransfer.files]);
});

// ---------------------------------------------------------------------------------------------
// The document viewer and search

let openId = null;
let openCursor = null;
let viewerTimer = null;

async function openDocument(id, { keepScroll = false } = {}) {
  openId = id;
  try {
    const data = await request(DOCUMENT_PAGES, { id });
    if (openId !== id) return;
    if (!data.document) {
      const message = "This document is gone, or not yours to see.";
      throw new ApiError([{ message, code: "NOT_FOUND" }]);
    }
    showDocument(view.viewer, data.document);
    const info = data.document.pages.pageInfo;
    openCursor = info.hasNextPage ? info.endCursor : null;
    view.viewer.more.hidden = !openCursor;
    view.viewer.section.hidden = false;
    if (!keepScroll) {
      view.viewer.section.scrollIntoView({ block: "start" });
      view.viewer.title.focus({ preventScroll: true }); // a screen reader starts there
    }
  } catch (error) {
    showError(error);
  }
}

function refreshViewerSoon() {
  clearTimeout(viewerTimer);
  viewerTimer = setTimeout(() => {
    if (openId && !openCursor) openDocument(openId, { keepScroll: true });
  }, 400);
}

view.viewer.more.addEventListener("click", async () => {
  try {
    const data = await request(DOCUMENT_PAGES, { id: openId, after: openCursor });
    showDocument(view.viewer, data.document, { append: true });
    const info = data.document.pages.pageInfo;
    openCursor = info.hasNextPage ? info.endCursor : null;
    view.viewer.more.hidden = !openCursor;
  } catch (error) {
    showError(error);
  }
});

$("viewer-close").addEventListener("click", () => {
  const opener = documents.get(openId)?.element?.querySelector("button.title");
  openId = null;
  view.viewer.section.hidden = true;
  opener?.focus();
});

view.searchForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = view.searchInput.value.trim();
  if (!query) return;
  fill(view.searchSummary, "Searching…");
  const mine = generation;
  try {
    const data = await request(SEARCH, { query });
    if (generation !== mine) return;
    const found = data.search.totalCount;
    fill(view.searchSummary, found === 1 ? "1 page found." : `${found} pages found.`);
    fill(view.hits, hitItems(data.search, openDocument));
  } catch (error) {
    fill(view.searchSummary, h("span", { class: "error" }, error.message));
    fill(view.hits);
    if (error instanceof ApiError && error.tokenEnded) showError(error);
  }
});

// ---------------------------------------------------------------------------------------------
// Signing in and out

view.loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(view.loginForm);
  fill(view.loginError);
  try {
    const { login } = await request(LOGIN, {
      username: form.get("username"),
      password: form.get("password"),
    });
    if (login.errors.length) throw userErrors(login.errors);
    session.token = login.token;
    view.loginForm.reset();
    await start();
  } catch (error) {
    fill(view.loginError, error.message);
  }
});

$("logout").addEventListener("click", async () => {
  try {
    await request(LOGOUT);
  } catch {
    // The token is dropped here whatever the server said; it expires on its own.
  }
  signOut("");
});

async function start() {
  generation += 1;
  view.login.hidden = true;
  view.app.hidden = false;
  view.who.hidden = false;
  view.alert.hidden = true;
  setLive("connecting", "Connecting…");
  startProgress();
  try {
    await loadDocuments();
  } catch (error) {
    showError(error);
  }
}

function signOut(message) {
  generation += 1;
  session.token = null;
  sending?.cancel();
  const [client, stop] = [socket, stopProgress];
  socket = stopProgress = null;
  stop?.();
  client?.dispose();
  openId = null;
  documents.clear();
  waiting.length = 0;
  for (const list of [view.documents, view.uploads, view.hits, view.viewer.pages]) fill(list);
  fill(view.searchSummary);
  fill(view.username);
  view.searchInput.value = "";
  view.viewer.section.hidden = true;
  view.app.hidden = true;
  view.who.hidden = true;
  view.login.hidden = false;
  view.alert.hidden = true;
  fill(view.loginError, message);
  $("login-username").focus();
}

if (session.token) start();
else signOut("");
