// The interactive OpenAPI page: openapi.yaml (the project's own document, shipped beside this page), with
// "Try it out" sent to this stack's API (config.json's apiUrl stands in for the document's server variable).
const config = await fetch(new URL("../config.json", import.meta.url), { cache: "no-store" })
  .then((response) => (response.ok ? response.json() : {}))
  .catch(() => ({}));
const placeholder = "http://127.0.0.1/"; // openapi.yaml's servers[0] default

window.SwaggerUIBundle({
  url: new URL("openapi.yaml", import.meta.url).href,
  dom_id: "#docs",
  deepLinking: true,
  tryItOutEnabled: false,
  requestInterceptor: (request) => {
    if (config.apiUrl && request.url.startsWith(placeholder)) {
      request.url = config.apiUrl.replace(/\/+$/, "") + "/" + request.url.slice(placeholder.length);
    }
    return request;
  },
});
