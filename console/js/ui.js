// Small DOM helpers. Every value from the API goes in as text (textContent), never as HTML.
import { Problem } from "./api.js";

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function money(value) {
  if (!value) return "";
  const { amount, currency } = value;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount / 100);
  } catch {
    return `${amount} ${currency}`;
  }
}

export function when(timestamp) {
  return timestamp ? new Date(timestamp).toLocaleString() : "";
}

export function status(value) {
  return h("span", { class: `status ${value}`, "data-status": value }, value);
}

export function link(href, text) {
  return h("a", { href }, text);
}

export function table(columns, rows, empty = "Nothing here.") {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null }, c.title)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(row))))),
    ),
  );
}

export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

// A refused or failed call, in the API's words: title, detail, code, and each field problem.
export function problemBox(error) {
  if (!(error instanceof Problem)) {
    return h("div", { class: "problem", role: "alert" }, h("strong", {}, "Could not reach the API"), h("div", {}, String(error.message || error)));
  }
  return h(
    "div",
    { class: "problem", role: "alert", "data-code": error.code },
    h("strong", { class: "title" }, error.title),
    error.detail ? h("div", { class: "detail" }, error.detail) : null,
    error.code ? h("div", { class: "code" }, `${error.status} ${error.code}`) : h("div", { class: "code" }, String(error.status)),
    error.errors.length ? h("ul", {}, error.errors.map((e) => h("li", {}, `${e.field}: ${e.message}`))) : null,
  );
}

export function notice(text) {
  return h("div", { class: "notice", role: "status" }, text);
}

// The confirmation step of every action that changes something: resolves true when the operator confirms.
export function confirmAction(question, confirmLabel = "Confirm") {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm" },
      h("p", {}, question),
      h(
        "div",
        { class: "actions" },
        h("button", { class: "danger", "data-confirm": "yes", onclick: () => close(true) }, confirmLabel),
        h("button", { class: "secondary", "data-confirm": "no", onclick: () => close(false) }, "Keep it as it is"),
      ),
    );
    function close(answer) {
      dialog.close();
      dialog.remove();
      resolve(answer);
    }
    dialog.addEventListener("cancel", () => close(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A datetime-local value as an RFC 3339 instant (the browser's time zone), or "" for an empty box.
export function instant(localValue) {
  return localValue ? new Date(localValue).toISOString() : "";
}

// Replace the view's contents, unless the operator has navigated elsewhere meanwhile.
export function render(view, ...children) {
  view.replaceChildren(...children.flat().filter(Boolean));
}

// A list the API answers in pages (`{items, nextCursor}`): a table of one page, with Previous and Next.
// `fetchPage(cursor)` asks for a page (cursor null: the first); `show()` shows the first page again (after
// the filters changed, say). The cursors of the pages seen are kept, since the API only goes forward.
export function pagedList(container, { fetchPage, columns, empty }) {
  const cursors = [null];
  async function load() {
    try {
      const page = await fetchPage(cursors[cursors.length - 1]);
      const move = (step) => () => {
        if (step > 0) cursors.push(page.nextCursor);
        else cursors.pop();
        load();
      };
      const buttons = [
        cursors.length > 1 ? h("button", { class: "secondary", id: "previous-page", onclick: move(-1) }, "Previous page") : null,
        page.nextCursor ? h("button", { class: "secondary", id: "next-page", onclick: move(1) }, "Next page") : null,
      ].filter(Boolean);
      render(container, table(columns, page.items, empty), buttons.length ? h("div", { class: "actions" }, buttons) : null);
    } catch (error) {
      render(container, problemBox(error));
    }
  }
  return {
    show() {
      cursors.length = 1;
      return load();
    },
  };
}

// Every item of a paged list, page after page, up to `max` of them; `more` tells whether some were left.
export async function allPages(fetchPage, max = Infinity) {
  const items = [];
  let cursor = null;
  do {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return { items, more: Boolean(cursor) };
}
