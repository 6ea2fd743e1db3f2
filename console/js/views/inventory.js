// Inventory: every SKU of the catalog with its stock (onHand, reserved, available, and shards and purchaseLimit
// where the API reports them), and setting them for one SKU (PUT /admin/inventory/{sku}).
import { get, put } from "../api.js";
import { allPages, confirmAction, h, notice, problemBox, render, table } from "../ui.js";

async function stocks() {
  const products = await allPages((cursor) => get("/admin/products", { limit: 100, cursor }));
  const skus = products.items.flatMap((p) => p.variants.map((v) => ({ sku: v.sku, name: `${p.name} - ${v.name}` })));
  return Promise.all(skus.map(async (s) => ({ ...s, ...(await get(`/admin/inventory/${encodeURIComponent(s.sku)}`)) })));
}

function editor(stock, done) {
  const outcome = h("div", { class: "outcome" });
  const fields = [h("label", {}, "On hand", h("input", { name: "onHand", type: "number", min: 0, step: 1, value: stock.onHand, required: true }))];
  if ("shards" in stock) fields.push(h("label", {}, "Shards", h("input", { name: "shards", type: "number", min: 1, max: 64, step: 1, value: stock.shards })));
  if ("purchaseLimit" in stock) {
    fields.push(h("label", {}, "Purchase limit (empty: none)", h("input", { name: "purchaseLimit", type: "number", min: 1, step: 1, value: stock.purchaseLimit ?? "" })));
  }
  const form = h("form", { class: "filters", dataset: { sku: stock.sku } }, fields, h("button", { type: "submit" }, "Set"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { onHand: Number(data.get("onHand")) };
    if (data.has("shards")) body.shards = Number(data.get("shards"));
    if (data.has("purchaseLimit")) body.purchaseLimit = data.get("purchaseLimit") === "" ? null : Number(data.get("purchaseLimit"));
    if (!(await confirmAction(`Set ${stock.sku} to ${body.onHand} on hand?`, "Set stock"))) return;
    try {
      const saved = await put(`/admin/inventory/${encodeURIComponent(stock.sku)}`, body);
      done(notice(`${saved.sku}: ${saved.onHand} on hand, ${saved.reserved} reserved, ${saved.available} available.`));
    } catch (error) {
      render(outcome, problemBox(error));
    }
  });
  return h("div", {}, form, outcome);
}

export function inventoryView(view) {
  async function show(message) {
    try {
      const rows = await stocks();
      const hasShards = rows.some((s) => "shards" in s);
      const hasLimits = rows.some((s) => "purchaseLimit" in s);
      const columns = [
        { title: "SKU", cell: (s) => h("code", {}, s.sku) },
        { title: "Product", cell: (s) => s.name },
        { title: "On hand", num: true, cell: (s) => h("span", { dataset: { field: "onHand", sku: s.sku } }, s.onHand) },
        { title: "Reserved", num: true, cell: (s) => s.reserved },
        { title: "Available", num: true, cell: (s) => h("span", { dataset: { field: "available", sku: s.sku } }, s.available) },
      ];
      if (hasShards) columns.push({ title: "Shards", num: true, cell: (s) => s.shards ?? "" });
      if (hasLimits) columns.push({ title: "Purchase limit", num: true, cell: (s) => s.purchaseLimit ?? "none" });
      columns.push({ title: "Set", cell: (s) => editor(s, show) });
      render(view, h("h1", {}, "Inventory"), message, table(columns, rows, "The catalog has no SKUs."));
    } catch (error) {
      render(view, h("h1", {}, "Inventory"), problemBox(error));
    }
  }
  show(null);
}
