// The console's shell: sign-in, then a hash route per page (#/live, #/checkouts/<id>, #/orders/<id>, ...).
import { currentSession, signIn, signOut, SignInError } from "./auth.js";
import { config } from "./config.js";
import { h, render } from "./ui.js";
import { checkoutsView, checkoutView } from "./views/checkouts.js";
import { inventoryView } from "./views/inventory.js";
import { liveView } from "./views/live.js";
import { ordersView, orderView } from "./views/orders.js";
import { queuesView } from "./views/queues.js";
import { upkeepView } from "./views/upkeep.js";

const routes = [
  [/^#\/live$/, liveView],
  [/^#\/checkouts$/, checkoutsView],
  [/^#\/checkouts\/([^/]+)$/, checkoutView],
  [/^#\/orders$/, ordersView],
  [/^#\/orders\/([^/]+)$/, orderView],
  [/^#\/inventory$/, inventoryView],
  [/^#\/queues$/, queuesView],
  [/^#\/upkeep$/, upkeepView],
];

const view = document.getElementById("view");
let leave = null; // what the current page runs when it is left (stops its refresh timer)

function route() {
  if (leave) leave();
  leave = null;
  const session = currentSession();
  document.getElementById("nav").hidden = !session;
  renderWho(session);
  if (!session) return renderSignIn();
  const hash = location.hash.split("?")[0];
  for (const [pattern, page] of routes) {
    const match = hash.match(pattern);
    if (match) {
      for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("current", hash.startsWith(a.getAttribute("href")));
      leave = page(view, ...match.slice(1).map(decodeURIComponent)) || null;
      return;
    }
  }
  location.hash = "#/live";
}

function renderWho(session) {
  const who = document.getElementById("who");
  who.replaceChildren();
  if (session) {
    who.append(
      `Signed in as ${session.username}`,
      h("button", { class: "secondary", id: "sign-out", onclick: () => { signOut(); route(); } }, "Sign out"),
    );
  }
}

function renderSignIn() {
  const message = h("div");
  const form = h(
    "form",
    { id: "sign-in" },
    h("label", {}, "User name", h("input", { name: "username", autocomplete: "username", required: true })),
    h("label", {}, "Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.replaceChildren();
    const data = new FormData(form);
    try {
      await signIn(String(data.get("username")), String(data.get("password")));
      if (!location.hash || location.hash === "#/") location.hash = "#/live";
      route();
    } catch (error) {
      const text = error instanceof SignInError ? error.message : `Cognito could not be reached: ${error.message}`;
      message.replaceChildren(h("div", { class: "problem", role: "alert" }, text));
    }
  });
  const hint = h("p", { class: "muted" }, "Operators are the members of the user pool's admin group.");
  config().catch((error) => message.replaceChildren(h("div", { class: "problem", role: "alert" }, error.message)));
  render(view, h("section", { class: "card signin" }, h("h1", {}, "Sign in"), form, message, hint));
}

window.addEventListener("hashchange", route);
route();
