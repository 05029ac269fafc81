import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { needsSignIn, readableSite, Session, signInMessage, tokenFromFragment } from "./auth";

function memory(): Map<string, string> & {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
} {
  const map = new Map<string, string>();
  return Object.assign(map, {
    getItem: (key: string) => map.get(key) ?? null,
    setItem: (key: string, value: string) => void map.set(key, value),
    removeItem: (key: string) => void map.delete(key),
  });
}

function http(status: number): ApiError {
  return new ApiError("/api/v1/overview", {
    kind: "http",
    status,
    code: "X",
    message: "",
    field: null,
  });
}

describe("Session", () => {
  it("sends no Authorization header until signed in, then a Bearer one", () => {
    const session = new Session(memory());
    expect(session.headers()).toEqual({});
    expect(session.signIn("  csr_abcdefghijklmnop  ")).toBe(true);
    expect(session.token).toBe("csr_abcdefghijklmnop");
    expect(session.headers()).toEqual({ Authorization: "Bearer csr_abcdefghijklmnop" });
  });

  it("keeps nothing for a blank token", () => {
    const store = memory();
    expect(new Session(store).signIn("   ")).toBe(false);
    expect(store.size).toBe(0);
  });

  it("forgets the token on signing out", () => {
    const store = memory();
    const session = new Session(store);
    session.signIn("csr_abcdefghijklmnop");
    session.signOut();
    expect(session.token).toBeNull();
    expect(session.headers()).toEqual({});
    expect(store.size).toBe(0);
  });
});

describe("tokenFromFragment", () => {
  it("reads a shared link's token", () => {
    expect(tokenFromFragment("#token=csl_abcdefghijklmnop-_0")).toBe("csl_abcdefghijklmnop-_0");
  });

  it.each([
    "",
    "#",
    "#token=",
    "#token=short",
    "#other=csl_abcdefghijklmnop",
    "#token=a b c d e f g h i",
  ])("ignores %j", (hash) => {
    expect(tokenFromFragment(hash)).toBeNull();
  });
});

describe("needsSignIn", () => {
  it("is true when any call was answered 401", () => {
    expect(needsSignIn([http(200), http(401)])).toBe(true);
  });

  it("is false for 403 (a valid token, another site) and other failures", () => {
    expect(needsSignIn([http(403), http(503), new Error("x")])).toBe(false);
  });
});

describe("signInMessage", () => {
  it("says plainly when a token was refused", () => {
    expect(signInMessage("rejected")).toMatch(/wrong, revoked or expired/);
    expect(signInMessage("needed")).toMatch(/needs a token/);
    expect(signInMessage("signed-out")).toMatch(/Signed out/);
  });
});

describe("readableSite", () => {
  it("keeps the chosen site when the token reads it", () => {
    expect(readableSite("a.example", ["a.example", "b.example"])).toBe("a.example");
  });

  it("moves to the first readable site (a shared link's one site)", () => {
    expect(readableSite("default", ["shop.example"])).toBe("shop.example");
  });

  it("keeps the chosen site when nothing is listed", () => {
    expect(readableSite("default", [])).toBe("default");
    expect(readableSite("default", null)).toBe("default");
  });
});
