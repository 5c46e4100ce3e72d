import { render } from "preact";
import { consoleBaseUrl } from "./api/console-base-url.js";
import { createApi } from "./api/create-api.js";
import { createCredentialStore } from "./api/credential-store.js";
import { App } from "./components/app.js";
import { parseRoute } from "./state/route.js";
import { prefetchNamespace } from "./state/use-namespace-store.js";
import "./styles.css";

const root = document.getElementById("app");
if (root !== null) {
  const credentials = createCredentialStore();
  const api = createApi(consoleBaseUrl(location.href), credentials);
  const route = parseRoute(location.hash);
  if (route.page !== "home") prefetchNamespace(api, route.env, route.ns);
  render(<App api={api} credentials={credentials} />, root);
}
