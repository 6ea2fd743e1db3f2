// The live sale view, refreshed every few seconds: checkouts of the last 15 minutes by status, the queues,
// workflow executions running and failed (the checkouts they belong to), and the SKUs holding most units.
import { get } from "../api.js";
import { allPages, h, problemBox, render, status, table, when } from "../ui.js";

const REFRESH_MS = 3000;
const WINDOW_MINUTES = 15;
const MAX_COUNTED = 500; // checkouts tallied per refresh; more shows as "500+"
const STATUSES = ["QUEUED", "PROCESSING", "AWAITING_PAYMENT", "COMPLETED", "FAILED", "EXPIRED", "CANCELLED"];
const HOT_SKUS = 5;
const MAX_SKUS_READ = 40;

async function recentCheckouts() {
  const since = new Date(Date.now() - WINDOW_MINUTES * 60_000).toISOString();
  const { items, more } = await allPages((cursor) => get("/admin/checkouts", { createdFrom: since, limit: 100, cursor }), MAX_COUNTED);
  return { checkouts: items, capped: more };
}

async function stockOfSkus() {
  const products = await get("/admin/products", { limit: 100 });
  const skus = products.items.flatMap((p) => p.variants.map((v) => ({ sku: v.sku, name: `${p.name} - ${v.name}` })));
  const stocks = await Promise.all(
    skus.slice(0, MAX_SKUS_READ).map(async (s) => ({ ...s, ...(await get(`/admin/inventory/${encodeURIComponent(s.sku)}`)) })),
  );
  return stocks.sort((a, b) => b.reserved - a.reserved || a.available - b.available).slice(0, HOT_SKUS);
}

function byStatus(checkouts, capped) {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const c of checkouts) counts[c.status] = (counts[c.status] || 0) + 1;
  const most = Math.max(1, ...Object.values(counts));
  return h(
    "div",
    { class: "bars", id: "checkouts-by-status" },
    Object.entries(counts).map(([name, count]) =>
      h(
        "div",
        { class: "row", dataset: { status: name } },
        status(name),
        h("div", { class: "fill", style: `width: ${(100 * count) / most}%` }),
        h("span", { class: "count" }, capped && count ? `${count}+` : String(count)),
      ),
    ),
  );
}

function figure(label, value, bad = false, id = undefined) {
  return h("div", {}, h("div", { class: `figure${bad && value > 0 ? " bad" : ""}`, id }, String(value)), h("div", { class: "muted" }, label));
}

export function liveView(view) {
  let timer = null;
  let stopped = false;
  const stamp = h("p", { class: "muted", id: "refreshed" });
  render(view, h("h1", {}, "Live sale"), stamp, h("p", { class: "muted" }, "Loading..."));

  async function refresh() {
    try {
      const [{ checkouts, capped }, queues, hot] = await Promise.all([recentCheckouts(), get("/admin/queues", { limit: 100 }), stockOfSkus()]);
      if (stopped) return;
      const running = checkouts.filter((c) => c.status === "PROCESSING" || c.status === "AWAITING_PAYMENT").length;
      const failed = checkouts.filter((c) => c.status === "FAILED").length;
      const depth = queues.items.reduce((sum, q) => sum + q.depth, 0);
      const dead = queues.items.reduce((sum, q) => sum + q.deadLetterDepth, 0);
      stamp.textContent = `Refreshed ${new Date().toLocaleTimeString()}, every ${REFRESH_MS / 1000} s; checkouts created in the last ${WINDOW_MINUTES} minutes.`;
      render(
        view,
        h("h1", {}, "Live sale"),
        stamp,
        h(
          "div",
          { class: "grid" },
          h("section", { class: "card" }, h("h2", {}, "Checkouts by status"), byStatus(checkouts, capped)),
          h(
            "section",
            { class: "card" },
            h("h2", {}, "Queues"),
            h("div", { class: "grid" }, figure("waiting for admission", depth, false, "queue-depth"), figure("dead letters", dead, true, "dead-letters")),
          ),
          h(
            "section",
            { class: "card" },
            h("h2", {}, "Workflow executions"),
            h("div", { class: "grid" }, figure("running", running, false, "executions-running"), figure("failed", failed, true, "executions-failed")),
          ),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Hottest SKUs (most units reserved)"),
          table(
            [
              { title: "SKU", cell: (s) => h("code", {}, s.sku) },
              { title: "Product", cell: (s) => s.name },
              { title: "Reserved", num: true, cell: (s) => s.reserved },
              { title: "Available", num: true, cell: (s) => s.available },
              { title: "On hand", num: true, cell: (s) => s.onHand },
            ],
            hot,
          ),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", {}, "Newest checkouts"),
          table(
            [
              { title: "Checkout", cell: (c) => h("a", { href: `#/checkouts/${c.checkoutId}` }, c.checkoutId) },
              { title: "Status", cell: (c) => status(c.status) },
              { title: "Created", cell: (c) => when(c.createdAt) },
            ],
            checkouts.slice(0, 10),
            "No checkouts in this window yet.",
          ),
        ),
      );
    } catch (error) {
      if (!stopped) render(view, h("h1", {}, "Live sale"), stamp, problemBox(error));
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
