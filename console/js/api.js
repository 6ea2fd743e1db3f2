// The HTTP API as the console calls it: the operator's bearer token on every call; any answer that is not
// 2xx becomes a Problem carrying the API's own words (title, detail, code, errors: RFC 9457).
import { config } from "./config.js";
import { currentSession } from "./auth.js";

export class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || body.message || `HTTP ${status}`);
    this.status = status;
    this.title = body.title || body.message || `HTTP ${status}`;
    this.detail = body.detail || "";
    this.code = body.code || "";
    this.errors = Array.isArray(body.errors) ? body.errors : [];
  }
}

export async function api(method, path, { query, body, headers: extra } = {}) {
  const { apiUrl } = await config();
  const session = currentSession();
  const url = new URL(apiUrl + path);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (session) headers.Authorization = `Bearer ${session.idToken}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  Object.assign(headers, extra || {});
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { title: `HTTP ${response.status}`, detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new Problem(response.status, parsed || {});
  return parsed;
}

export const get = (path, query) => api("GET", path, { query });
export const post = (path, body) => api("POST", path, { body });
export const put = (path, body) => api("PUT", path, { body });
