// Orders: search (status, e-mail, dates), one order with its history and fulfilments, and the operator's actions
// (ship some units, fulfil the rest, cancel, refund), each after a confirmation step; a refused action shows the
// API's problem as it words it.
import { api, get, post } from "../api.js";
import { confirmAction, facts, h, instant, money, notice, pagedList, problemBox, render, status, table, when } from "../ui.js";

const STATUSES = ["", "PENDING_PAYMENT", "PAID", "PARTIALLY_FULFILLED", "FULFILLED", "REFUND_PENDING", "PARTIALLY_REFUNDED", "CANCELLED", "REFUNDED", "REFUND_FAILED"];
const ACTIONS = [
  { name: "fulfill", label: "Fulfil", question: "Mark every unit left to ship as shipped?" },
  { name: "cancel", label: "Cancel", question: "Cancel this order? A paid order is refunded and its stock returned." },
  { name: "refund", label: "Refund", question: "Refund this order in full through the payment provider?" },
];

export function ordersView(view) {
  const results = h("div", { id: "order-results" });
  const form = h(
    "form",
    { class: "filters", id: "order-filters" },
    h("label", {}, "Status", h("select", { name: "status" }, STATUSES.map((s) => h("option", { value: s }, s || "any")))),
    h("label", {}, "E-mail", h("input", { name: "email", type: "email" })),
    h("label", {}, "Created from", h("input", { name: "createdFrom", type: "datetime-local" })),
    h("label", {}, "Created before", h("input", { name: "createdTo", type: "datetime-local" })),
    h("button", { type: "submit" }, "Search"),
  );

  const list = pagedList(results, {
    fetchPage: (cursor) => {
      const data = new FormData(form);
      return get("/admin/orders", {
        status: data.get("status"),
        email: data.get("email"),
        createdFrom: instant(data.get("createdFrom")),
        createdTo: instant(data.get("createdTo")),
        limit: 20,
        cursor,
      });
    },
    columns: [
      { title: "Order", cell: (o) => h("a", { href: `#/orders/${o.orderId}` }, o.orderId) },
      { title: "Status", cell: (o) => status(o.status) },
      { title: "E-mail", cell: (o) => o.email },
      { title: "Total", num: true, cell: (o) => money(o.total) },
      { title: "Created", cell: (o) => when(o.createdAt) },
    ],
    empty: "No order matches.",
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    list.show();
  });
  render(view, h("h1", {}, "Orders"), form, results);
  list.show();
}

export function orderView(view, orderId) {
  const outcome = h("div", { id: "action-outcome" });

  async function ship(form, lines) {
    const data = new FormData(form);
    const chosen = lines
      .map((l) => ({ sku: l.sku, quantity: Number(data.get(`ship-${l.sku}`) || 0) }))
      .filter((l) => l.quantity > 0);
    if (chosen.length === 0) {
      await show(notice("Choose how many units of a line shipped."));
      return;
    }
    const units = chosen.map((l) => `${l.quantity} × ${l.sku}`).join(", ");
    if (!(await confirmAction(`Record that ${units} shipped?`, "Ship"))) return;
    const body = { lines: chosen };
    for (const name of ["carrier", "trackingNumber"]) if (data.get(name)) body[name] = data.get(name);
    try {
      // One key per shipment: a retried request (a double click, a lost answer) ships nothing twice.
      const shipped = await api("POST", `/admin/orders/${encodeURIComponent(orderId)}/fulfillments`, {
        body,
        headers: { "Idempotency-Key": form.dataset.key },
      });
      await show(notice(`Shipped ${units}: the order is now ${shipped.status}.`));
    } catch (error) {
      await show(problemBox(error));
    }
  }

  async function act(action) {
    if (!(await confirmAction(action.question, action.label))) return;
    try {
      const order = await post(`/admin/orders/${encodeURIComponent(orderId)}/${action.name}`);
      await show(notice(`${action.label}: the order is now ${order.status}.`));
    } catch (error) {
      await show(problemBox(error));
    }
  }

  async function show(message) {
    try {
      const o = await get(`/admin/orders/${encodeURIComponent(orderId)}`);
      const left = unitsLeft(o);
      render(outcome, message);
      render(
        view,
        h("p", {}, h("a", { href: "#/orders" }, "All orders")),
        h("h1", {}, "Order ", h("code", {}, o.orderId)),
        h(
          "section",
          { class: "card" },
          facts([
            ["Status", h("span", { id: "order-status" }, status(o.status))],
            ["E-mail", o.email],
            ["Total", money(o.total)],
            ["Ship to", [o.shippingAddress.name, o.shippingAddress.line1, o.shippingAddress.city, o.shippingAddress.postalCode, o.shippingAddress.country].filter(Boolean).join(", ")],
            ["Created", when(o.createdAt)],
            ["Updated", when(o.updatedAt)],
          ]),
          h("div", { class: "actions" }, ACTIONS.map((a) => h("button", { "data-action": a.name, onclick: () => act(a) }, a.label))),
          outcome,
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Lines"),
          table(
            [
              { title: "SKU", cell: (l) => h("code", {}, l.sku) },
              { title: "Name", cell: (l) => l.name },
              { title: "Quantity", num: true, cell: (l) => l.quantity },
              { title: "Left to ship", num: true, cell: (l) => left[l.sku] },
              { title: "Unit price", num: true, cell: (l) => money(l.unitPrice) },
              { title: "Line total", num: true, cell: (l) => money(l.lineTotal) },
            ],
            o.lines,
          ),
          shipForm(o, left),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Fulfilments"),
          table(
            [
              { title: "Shipped", cell: (f) => when(f.createdAt) },
              { title: "Units", cell: (f) => f.lines.map((l) => `${l.quantity} × ${l.sku}`).join(", ") },
              { title: "Carrier", cell: (f) => f.carrier || "" },
              { title: "Tracking number", cell: (f) => (f.trackingNumber ? h("code", {}, f.trackingNumber) : "") },
            ],
            o.fulfillments,
            "Nothing has shipped.",
          ),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, "History"),
          h(
            "ol",
            { class: "timeline", id: "order-history" },
            o.events.map((e) =>
              h("li", {}, h("strong", {}, e.type), h("div", { class: "muted" }, when(e.at)), e.detail ? h("div", {}, typeof e.detail === "string" ? e.detail : JSON.stringify(e.detail)) : null),
            ),
          ),
        ),
      );
    } catch (error) {
      render(view, h("p", {}, h("a", { href: "#/orders" }, "All orders")), problemBox(error));
    }
  }

  function shipForm(o, left) {
    const open = o.lines.filter((l) => left[l.sku] > 0);
    if (!["PAID", "PARTIALLY_FULFILLED"].includes(o.status) || open.length === 0) return null;
    const form = h(
      "form",
      { class: "filters", id: "ship-form", "data-key": crypto.randomUUID() },
      open.map((l) => h("label", {}, `Ship ${l.sku}`, h("input", { name: `ship-${l.sku}`, type: "number", min: "0", max: String(left[l.sku]), value: "0" }))),
      h("label", {}, "Carrier", h("input", { name: "carrier", maxlength: "100" })),
      h("label", {}, "Tracking number", h("input", { name: "trackingNumber", maxlength: "100" })),
      h("button", { type: "submit" }, "Ship"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      ship(form, open);
    });
    return form;
  }

  show(null);
}

// Units of each SKU that no fulfilment shipped yet.
function unitsLeft(order) {
  const left = Object.fromEntries(order.lines.map((l) => [l.sku, l.quantity]));
  for (const f of order.fulfillments) for (const l of f.lines) left[l.sku] -= l.quantity;
  return left;
}
