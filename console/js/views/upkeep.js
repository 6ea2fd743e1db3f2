// Upkeep: each scheduled job's last runs - when, what it examined, what it repaired, what failed.
import { get } from "../api.js";
import { h, problemBox, render, table, when } from "../ui.js";

export function upkeepView(view) {
  async function show() {
    try {
      const { jobs } = await get("/admin/upkeep", { runs: 20 });
      render(
        view,
        h("h1", {}, "Upkeep"),
        jobs.length ? null : h("p", { class: "muted" }, "No scheduled job has run yet (they run every 5 minutes)."),
        jobs.map((job) =>
          h(
            "section",
            { class: "card", dataset: { job: job.job } },
            h("h2", {}, job.job),
            table(
              [
                { title: "Started", cell: (r) => when(r.startedAt) },
                { title: "Took", num: true, cell: (r) => `${((new Date(r.endedAt) - new Date(r.startedAt)) / 1000).toFixed(1)} s` },
                { title: "Examined", num: true, cell: (r) => r.examined },
                { title: "Repaired", cell: (r) => Object.entries(r.repaired).map(([kind, n]) => `${kind}: ${n}`).join(", ") || "nothing" },
                { title: "Failed", num: true, cell: (r) => r.failed },
              ],
              job.runs,
            ),
          ),
        ),
      );
    } catch (error) {
      render(view, h("h1", {}, "Upkeep"), problemBox(error));
    }
  }
  show();
}
