// The console's configuration: config.json next to index.html (written at deploy by the stack, or by the
// local cloud's deployment of the same files): {"apiUrl", "cognitoEndpoint", "clientId" (the operators' app
// client), "region"}.
let loaded = null;

export async function config() {
  if (!loaded) {
    const response = await fetch(new URL("../config.json", import.meta.url), { cache: "no-store" });
    if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
    const value = await response.json();
    for (const key of ["apiUrl", "cognitoEndpoint", "clientId"]) {
      if (typeof value[key] !== "string" || !value[key]) throw new Error(`config.json lacks ${key}`);
    }
    value.apiUrl = value.apiUrl.replace(/\/+$/, "");
    loaded = value;
  }
  return loaded;
}
