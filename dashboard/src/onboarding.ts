/** The empty state's instructions: how to send a first event to `ingest`. No I/O. */

import { DEFAULT_SITE } from "./sites";

export const INGEST_PLACEHOLDER = "$INGEST_URL";

/**
 * Where `ingest` most likely is, seen from the gateway's address: on Knative the service
 * named `gateway` sits beside one named `ingest`; `nox -s dev` puts them on 8081 and 8080.
 * Anything else gets a placeholder the reader replaces.
 */
export function ingestUrlFor(location: {
  protocol: string;
  hostname: string;
  port: string;
}): string {
  const { protocol, hostname, port } = location;
  const withPort = port ? `:${port}` : "";
  if (hostname.startsWith("gateway.")) {
    return `${protocol}//ingest.${hostname.slice("gateway.".length)}${withPort}`;
  }
  if (port === "8081") return `${protocol}//${hostname}:8080`;
  return INGEST_PLACEHOLDER;
}

/** `site` is left out of what is sent when it is the default one. */
export function curlLine(ingestUrl: string, site: string): string {
  const event = JSON.stringify({
    ...(site === DEFAULT_SITE ? {} : { site }),
    event_id: "first-1",
    user_id: "user-1",
    event_type: "click",
    page_url: "/home",
  });
  return (
    `curl -si -X POST ${ingestUrl}/ingest -H 'Content-Type: application/json' \\\n` +
    `  -d '${event}'`
  );
}

export function trackerSnippet(ingestUrl: string, site: string): string {
  // a site name is [a-z0-9.-]: nothing in it needs escaping in an attribute
  const named = site === DEFAULT_SITE ? "" : ` data-site="${site}"`;
  return `<script async src="${ingestUrl}/tracker.js"${named}></script>`;
}
