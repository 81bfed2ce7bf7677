// Building the page's elements. Text always goes in as text (never as HTML), so nothing a
// document or a server message holds can run as markup.

/**
 * h("li", { class: "page", data: { status: "DONE" }, onclick: fn }, "text", child...)
 * Attributes: `class`, `data` (dataset), `on<event>` (listeners), `hidden` and other
 * boolean properties, anything else as an attribute. Children: nodes, strings, null.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "data") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  element.append(...present(children));
  return element;
}

function present(children) {
  return children.flat().filter((child) => child !== null && child !== undefined);
}

/** Replace `element`'s children. */
export function fill(element, ...children) {
  element.replaceChildren(...present(children));
}

// What Python's html.escape writes (the server's snippets).
const ENTITIES = {
  "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'",
};

function unescape(text) {
  return text.replace(/&(?:amp|lt|gt|quot|#x27|#39);/g, (entity) => ENTITIES[entity]);
}

/**
 * A search snippet (HTML-escaped, matched words in <mark>...</mark>) as nodes: the words
 * between the marks become text again, the marks become <mark> elements; nothing else is
 * taken as markup.
 */
export function snippetNodes(snippet) {
  const nodes = [];
  let marked = false;
  for (const part of snippet.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") marked = true;
    else if (part === "</mark>") marked = false;
    else if (part) nodes.push(marked ? h("mark", {}, unescape(part)) : unescape(part));
  }
  return nodes;
}

/** "READY" -> "ready", "PAGE_DONE" -> "page done": enum values as words. */
export function words(value) {
  return String(value).toLowerCase().replace(/_/g, " ");
}
