/** The empty state's instructions: how to send a first event to `ingest`. No I/O. */

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

export function curlLine(ingestUrl: string): string {
  const event = JSON.stringify({
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

export function trackerSnippet(ingestUrl: string): string {
  return `<script async src="${ingestUrl}/tracker.js"></script>`;
}
