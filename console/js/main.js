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
  const card = h("section", { class: "card signin" }, h("h1", {}, "Sign in"), form, message);
  const fail = (error) => {
    const text = error instanceof SignInError ? error.message : `Cognito could not be reached: ${error.message}`;
    message.replaceChildren(h("div", { class: "problem", role: "alert" }, text));
  };
  const show = (step) => {
    if (step.session) {
      if (!location.hash || location.hash === "#/") location.hash = "#/live";
      route();
      return;
    }
    card.replaceChildren(h("h1", {}, "Sign in"), challengeForm(step, show, fail, message), message);
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.replaceChildren();
    const data = new FormData(form);
    try {
      show(await signIn(String(data.get("username")), String(data.get("password"))));
    } catch (error) {
      fail(error);
    }
  });
  card.append(h("p", { class: "muted" }, "Operators sign in with the operators' user pool (group admin) and an authenticator app."));
  config().catch(fail);
  render(view, card);
}

// The form for a sign-in challenge: a TOTP code, setting up an authenticator app, or a new password.
function challengeForm(step, show, fail, message) {
  const field = step.challenge === "new-password"
    ? h("label", {}, "New password", h("input", { name: "answer", type: "password", autocomplete: "new-password", required: true }))
    : h("label", {}, "Code from your authenticator app",
        h("input", { name: "answer", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: 6, required: true }));
  const intro = {
    code: h("p", {}, "Enter the 6-digit code your authenticator app shows for this console."),
    setup: h("div", { id: "totp-setup" },
      h("p", {}, "Set up an authenticator app: add this key (or open the link on your phone), then enter the code it shows."),
      h("p", {}, h("code", { id: "totp-secret" }, step.secret)),
      h("p", {}, h("a", { href: step.otpauth }, "Open in an authenticator app"))),
    "new-password": h("p", {}, "Choose a new password (an administrator set a temporary one)."),
  }[step.challenge];
  const form = h("form", { id: "sign-in-challenge", "data-challenge": step.challenge }, intro, field,
    h("button", { type: "submit" }, step.challenge === "new-password" ? "Set password" : "Verify"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.replaceChildren();
    try {
      show(await step.answer(String(new FormData(form).get("answer")).trim()));
    } catch (error) {
      fail(error);
    }
  });
  return form;
}

window.addEventListener("hashchange", route);
route();
