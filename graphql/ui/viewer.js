// A document's pages (preview beside its text) and search hits (the page's preview with the
// matched words' boxes drawn over it).
import { fill, h, snippetNodes, words } from "./dom.js";

export const DOCUMENT_PAGES = `
  query DocumentPages($id: ID!, $after: String) {
    document(id: $id) {
      id title status error pageCount pagesProcessed downloadUrl
      pages(first: 50, after: $after) {
        pageInfo { hasNextPage endCursor }
        edges { node {
          id number status error width height text source
          previewUrl(size: MEDIUM)
        } }
      }
    }
  }`;

export const SEARCH = `
  query Search($query: String!) {
    search(query: $query, first: 20) {
      totalCount
      edges { node {
        pageNumber snippet
        highlights { text x0 y0 x1 y1 }
        document { id title }
        page { id width height previewUrl(size: MEDIUM) }
      } }
    }
  }`;

const SOURCES = { TEXT_LAYER: "from the file's own text", OCR: "read by OCR", NONE: "no text" };

/**
 * A page's preview image, `boxes` (page points, top-left origin) drawn over it. The boxes are
 * placed in percent of the page's size, so they follow the image at whatever size it shows.
 */
export function preview(page, alt, boxes = []) {
  const image = h("img", {
    src: page.previewUrl,
    alt,
    width: Math.round(page.width),
    height: Math.round(page.height),
    loading: "lazy",
    decoding: "async",
  });
  const figure = h("div", { class: "preview" }, image);
  for (const box of boxes) {
    const mark = h("div", { class: "highlight", title: box.text, data: { word: box.text } });
    mark.style.setProperty("left", `${(100 * box.x0) / page.width}%`);
    mark.style.setProperty("top", `${(100 * box.y0) / page.height}%`);
    mark.style.setProperty("width", `${(100 * (box.x1 - box.x0)) / page.width}%`);
    mark.style.setProperty("height", `${(100 * (box.y1 - box.y0)) / page.height}%`);
    figure.append(mark);
  }
  return figure;
}

/** The pages of `document` (a DOCUMENT_PAGES answer) as list items. */
export function pageItems(document) {
  return document.pages.edges.map(({ node: page }) => {
    let text;
    if (page.status === "FAILED") {
      const reason = page.error || "unknown error";
      text = h("p", { class: "error" }, `This page could not be read: ${reason}`);
    } else if (page.status !== "DONE") {
      text = h("p", { class: "muted" }, `Not read yet (${words(page.status)}).`);
    } else if (!page.text) {
      text = h("p", { class: "muted" }, "No text on this page.");
    } else {
      // Focusable, so that a keyboard can scroll a long text.
      text = h("pre", { class: "page-text", tabindex: 0 }, page.text);
    }
    return h(
      "li",
      { class: "viewer-page", data: { pageNumber: page.number, status: page.status } },
      h("h3", {}, `Page ${page.number}`),
      h(
        "div",
        { class: "viewer-page-body" },
        preview(page, `Page ${page.number} of ${document.title}`),
        h(
          "section",
          { class: "viewer-text", "aria-label": `Text of page ${page.number}` },
          text,
          page.source ? h("p", { class: "muted small" }, SOURCES[page.source] || "") : null,
        ),
      ),
    );
  });
}

/** Fill the viewer's header and list from a DOCUMENT_PAGES answer (replacing or appending). */
export function showDocument(view, document, { append = false } = {}) {
  fill(view.title, document.title);
  fill(
    view.summary,
    h("span", { class: `status status-${document.status}` }, words(document.status)),
    ` · ${document.pagesProcessed} of ${document.pageCount} pages processed · `,
    h("a", { href: document.downloadUrl, download: "" }, "Download PDF"),
    document.error ? h("p", { class: "error" }, document.error) : null,
  );
  const items = pageItems(document);
  if (append) view.pages.append(...items);
  else fill(view.pages, items);
}

/** Search hits (a SEARCH answer) as list items; `open(documentId)` opens a hit's document. */
export function hitItems(search, open) {
  return search.edges.map(({ node: hit }) =>
    h(
      "li",
      { class: "hit", data: { documentId: hit.document.id, pageNumber: hit.pageNumber } },
      h(
        "h3",
        {},
        h(
          "button",
          { type: "button", class: "link", onclick: () => open(hit.document.id) },
          hit.document.title,
        ),
        ` · page ${hit.pageNumber}`,
      ),
      h("p", { class: "snippet" }, snippetNodes(hit.snippet)),
      preview(
        hit.page,
        `Page ${hit.pageNumber} of ${hit.document.title}, matched words highlighted`,
        hit.highlights,
      ),
    ),
  );
}
