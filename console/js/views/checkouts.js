// Checkouts: the list with its filters (GET /admin/checkouts), and one checkout with its workflow execution's
// steps and errors as a timeline (GET /admin/checkouts/{id}), refreshed while it is still moving.
import { get } from "../api.js";
import { facts, h, instant, money, pagedList, problemBox, render, status, when } from "../ui.js";

const STATUSES = ["", "QUEUED", "PROCESSING", "AWAITING_PAYMENT", "COMPLETED", "FAILED", "EXPIRED", "CANCELLED"];
const OPEN = new Set(["QUEUED", "PROCESSING", "AWAITING_PAYMENT"]);
const REFRESH_MS = 2000;

export function checkoutsView(view) {
  const results = h("div", { id: "checkout-results" });
  const form = h(
    "form",
    { class: "filters", id: "checkout-filters" },
    h("label", {}, "Status", h("select", { name: "status" }, STATUSES.map((s) => h("option", { value: s }, s || "any")))),
    h("label", {}, "Created from", h("input", { name: "createdFrom", type: "datetime-local" })),
    h("label", {}, "Created before", h("input", { name: "createdTo", type: "datetime-local" })),
    h("button", { type: "submit" }, "Search"),
  );
  const list = pagedList(results, {
    fetchPage: (cursor) => {
      const data = new FormData(form);
      return get("/admin/checkouts", {
        status: data.get("status"),
        createdFrom: instant(data.get("createdFrom")),
        createdTo: instant(data.get("createdTo")),
        limit: 20,
        cursor,
      });
    },
    columns: [
      { title: "Checkout", cell: (c) => h("a", { href: `#/checkouts/${c.checkoutId}` }, c.checkoutId) },
      { title: "Status", cell: (c) => status(c.status) },
      { title: "Total", num: true, cell: (c) => money(c.total) },
      { title: "Failure", cell: (c) => (c.failure ? c.failure.code : "") },
      { title: "Created", cell: (c) => when(c.createdAt) },
      { title: "Updated", cell: (c) => when(c.updatedAt) },
    ],
    empty: "No checkout matches (a filtered page may be empty: try Next).",
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    list.show();
  });
  render(view, h("h1", {}, "Checkouts"), form, results);
  list.show();
}

function timeline(execution) {
  if (!execution) return h("p", { class: "muted", id: "execution" }, "The workflow has not started yet (the checkout is waiting in the admission queue).");
  return h(
    "div",
    { id: "execution" },
    facts([
      ["Execution", h("code", {}, execution.name)],
      ["Status", status(execution.status)],
      ["Started", when(execution.startedAt)],
      ["Stopped", when(execution.stoppedAt) || "still running"],
    ]),
    h("h2", {}, "Steps"),
    h(
      "ol",
      { class: "timeline" },
      execution.steps.map((step) =>
        h(
          "li",
          { class: step.error ? "failed" : "", dataset: { step: step.name } },
          h("strong", {}, step.name),
          " ",
          status(step.status),
          h("div", { class: "muted" }, `${when(step.startedAt)}${step.endedAt ? ` - ${when(step.endedAt)}` : ""}`),
          step.error ? h("div", { class: "error" }, typeof step.error === "string" ? step.error : JSON.stringify(step.error)) : null,
        ),
      ),
    ),
  );
}

export function checkoutView(view, checkoutId) {
  let timer = null;
  let stopped = false;

  async function refresh() {
    try {
      const c = await get(`/admin/checkouts/${encodeURIComponent(checkoutId)}`);
      if (stopped) return;
      render(
        view,
        h("p", {}, h("a", { href: "#/checkouts" }, "All checkouts")),
        h("h1", {}, "Checkout ", h("code", {}, c.checkoutId)),
        h(
          "section",
          { class: "card" },
          facts([
            ["Status", h("span", { id: "checkout-status" }, status(c.status))],
            ["Order", h("a", { href: `#/orders/${c.orderId}` }, c.orderId)],
            ["Total", money(c.total)],
            ["Payment", c.payment ? `${c.payment.provider} ${c.payment.intentId}` : "none yet"],
            ["Failure", c.failure ? `${c.failure.code}: ${c.failure.message}` : "none"],
            ["Created", when(c.createdAt)],
            ["Updated", when(c.updatedAt)],
          ]),
        ),
        h("section", { class: "card" }, h("h2", {}, "Workflow"), timeline(c.execution)),
        OPEN.has(c.status) ? h("p", { class: "muted" }, `Still open: refreshed every ${REFRESH_MS / 1000} s.`) : null,
      );
      if (OPEN.has(c.status) || (c.execution && c.execution.status === "RUNNING")) timer = setTimeout(refresh, REFRESH_MS);
    } catch (error) {
      if (!stopped) render(view, h("p", {}, h("a", { href: "#/checkouts" }, "All checkouts")), problemBox(error));
    }
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
