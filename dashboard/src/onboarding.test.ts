import { describe, expect, it } from "vitest";
import { curlLine, INGEST_PLACEHOLDER, ingestUrlFor, trackerSnippet } from "./onboarding";

describe("onboarding", () => {
  it("finds ingest beside the gateway", () => {
    expect(ingestUrlFor({ protocol: "http:", hostname: "127.0.0.1", port: "8081" })).toBe(
      "http://127.0.0.1:8080",
    );
    expect(
      ingestUrlFor({ protocol: "https:", hostname: "gateway.default.example.com", port: "" }),
    ).toBe("https://ingest.default.example.com");
    expect(ingestUrlFor({ protocol: "http:", hostname: "localhost", port: "43117" })).toBe(
      INGEST_PLACEHOLDER,
    );
  });

  it("writes a curl line that sends one valid event, and the tracker tag", () => {
    const line = curlLine("http://127.0.0.1:8080", "default");
    expect(line).toContain("curl -si -X POST http://127.0.0.1:8080/ingest");
    const body = /-d '(.*)'$/.exec(line)?.[1] ?? "";
    expect(JSON.parse(body)).toEqual({
      event_id: "first-1",
      user_id: "user-1",
      event_type: "click",
      page_url: "/home",
    });
    expect(trackerSnippet("https://i.example", "default")).toBe(
      '<script async src="https://i.example/tracker.js"></script>',
    );
  });

  it("names the site on screen when it is not the default one", () => {
    const body = /-d '(.*)'$/.exec(curlLine("http://i", "shop.example"))?.[1] ?? "";
    expect(JSON.parse(body)).toMatchObject({ site: "shop.example", event_id: "first-1" });
    expect(trackerSnippet("https://i.example", "shop.example")).toBe(
      '<script async src="https://i.example/tracker.js" data-site="shop.example"></script>',
    );
  });
});
