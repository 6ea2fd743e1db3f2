// Queues: each queue's depth, in flight and dead letters, and a redrive of its dead letters (after a
// confirmation step), refreshed every few seconds.
import { get, post } from "../api.js";
import { confirmAction, h, notice, problemBox, render, table } from "../ui.js";

const REFRESH_MS = 3000;

export function queuesView(view) {
  let timer = null;
  let stopped = false;
  const outcome = h("div", { id: "redrive-outcome" });

  async function redrive(queue) {
    if (!(await confirmAction(`Move the ${queue.deadLetterDepth} dead letters of ${queue.name} back to the queue?`, "Redrive"))) return;
    try {
      const { moved } = await post(`/admin/queues/${encodeURIComponent(queue.name)}/redrive`);
      render(outcome, notice(`${moved} message${moved === 1 ? "" : "s"} moved back to ${queue.name}.`));
    } catch (error) {
      render(outcome, problemBox(error));
    }
    clearTimeout(timer);
    refresh();
  }

  async function refresh() {
    try {
      const queues = await get("/admin/queues", { limit: 100 });
      if (stopped) return;
      render(
        view,
        h("h1", {}, "Queues"),
        outcome,
        table(
          [
            { title: "Queue", cell: (q) => q.name },
            { title: "Waiting", num: true, cell: (q) => q.depth },
            { title: "In flight", num: true, cell: (q) => q.inFlight },
            { title: "Delayed", num: true, cell: (q) => q.delayed },
            { title: "Dead letters", num: true, cell: (q) => h("span", { dataset: { deadLetters: q.name } }, q.deadLetterDepth) },
            { title: "", cell: (q) => h("button", { dataset: { redrive: q.name }, disabled: q.deadLetterDepth === 0, onclick: () => redrive(q) }, "Redrive") },
          ],
          queues.items,
          "The stack has no queues.",
        ),
        h("p", { class: "muted" }, `Refreshed every ${REFRESH_MS / 1000} s. Counts are SQS's approximate figures.`),
      );
    } catch (error) {
      if (!stopped) render(view, h("h1", {}, "Queues"), outcome, problemBox(error));
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
