/**
 * The dashboard: the selection and its history, loading it (live refresh, retries, sign-in),
 * rendering each snapshot, the error banner and the CSV export. The controls that change the
 * selection are in controls.ts.
 */

import "./styles.css";
import { Api, summarize } from "./api";
import { needsSignIn, readableSite, Session, type SignInReason, tokenFromFragment } from "./auth";
import { Charts } from "./charts";
import { ALL_PARTS, Controls, type Part } from "./controls";
import { csvFileName, snapshotRows, toCsv } from "./csv";
import { byId, h, setAttribute, setText } from "./dom";
import { withFilter, withoutFilter } from "./filters";
import { formatAgo, formatMoment } from "./format";
import { kpis } from "./kpi";
import { curlLine, INGEST_PLACEHOLDER, ingestUrlFor, trackerSnippet } from "./onboarding";
import { resolveRange } from "./range";
import { ReportsView } from "./reportsview";
import { LoadError, loadSnapshot, type Selection, type Snapshot } from "./snapshot";
import { selectionFromQuery, selectionToQuery } from "./state";
import { SignInView } from "./signin";
import { installTheme } from "./theme";
import { rangeSummary, renderKpis, renderTables, renderUser, seriesSummary } from "./view";

/** While the API fails, retry at least this often, live mode or not. */
const RETRY_S = 5;

class Dashboard {
  private readonly session = new Session(sessionStorage);
  private readonly api = new Api(undefined, undefined, () => this.session.headers());
  private readonly charts: Charts;
  private readonly reports: ReportsView;
  private readonly controls: Controls;
  private selection: Selection;
  private snapshot: Snapshot | null = null;
  private failure: string | null = null;
  private inFlight: AbortController | null = null;
  private generation = 0;
  private timer: number | undefined;
  private eventTypes = true;
  private sites = true;
  private readonly signIn: SignInView;
  /** A 403 made the dashboard look for a site the token reads (once per sign-in). */
  private siteSought = false;

  private readonly el = {
    banner: byId("banner", HTMLElement),
    bannerLines: byId("banner-lines", HTMLUListElement),
    bannerRetry: byId("banner-retry", HTMLParagraphElement),
    status: byId("status", HTMLElement),
    updated: byId("updated", HTMLElement),
    summary: byId("range-summary", HTMLElement),
    kpis: byId("kpis", HTMLElement),
    empty: byId("empty", HTMLElement),
    charts: byId("charts", HTMLElement),
    reports: byId("reports", HTMLElement),
    seriesTitle: byId("series-title", HTMLElement),
    seriesSummary: byId("series-summary", HTMLElement),
    typesCard: byId("types-card", HTMLElement),
    userPanel: byId("user-panel", HTMLElement),
    userBody: byId("user-table-body", HTMLTableSectionElement),
  };

  private readonly cards: Record<Exclude<Part, "kpis" | "user" | "reports">, HTMLElement> = {
    series: byId("series-card", HTMLElement),
    pages: byId("pages-card", HTMLElement),
    share: byId("share-card", HTMLElement),
    types: byId("types-card", HTMLElement),
  };

  constructor() {
    // a shared link's token: kept for the tab, then out of the address bar and history
    const shared = tokenFromFragment(location.hash);
    if (shared !== null) {
      this.session.signIn(shared);
      history.replaceState(null, "", location.pathname + location.search);
    }
    this.selection = selectionFromQuery(location.search);
    this.signIn = new SignInView(this.session, {
      signedIn: () => {
        this.siteSought = false;
        for (const part of ALL_PARTS) this.setBusy(part, true);
        this.refresh(true);
      },
      signedOut: () => this.forget(),
    });
    this.charts = new Charts({
      series: byId("series-canvas", HTMLCanvasElement),
      pages: byId("pages-canvas", HTMLCanvasElement),
      share: byId("share-canvas", HTMLCanvasElement),
      types: byId("types-canvas", HTMLCanvasElement),
    });
    this.reports = new ReportsView(
      {
        section: this.el.reports,
        goals: byId("goals-card", HTMLElement),
        funnel: byId("funnel-card", HTMLElement),
        visitKpis: byId("visit-kpis", HTMLElement),
        realtime: byId("realtime", HTMLElement),
        chips: byId("filters", HTMLElement),
      },
      {
        filter: (added) => this.filter(withFilter(this.selection.filters, added)),
        unfilter: (index) => this.filter(withoutFilter(this.selection.filters, index)),
        reload: () => this.refresh(true),
      },
    );
    installTheme(byId("theme", HTMLButtonElement), () => this.charts.applyTheme());
    this.fillOnboarding();
    this.controls = new Controls({
      select: (change, loading) => this.select(change, loading),
      paused: (paused) => {
        if (!paused) this.refresh(false);
        else if (!this.failure) window.clearTimeout(this.timer);
      },
      intervalChanged: () => this.schedule(),
      exportCsv: () => this.exportCsv(),
      shownRange: () => this.snapshot?.range ?? resolveRange(this.selection.range, new Date()),
    });
    this.showSelection();
    window.setInterval(() => this.tick(), 1000);
    // filters are steps the back button undoes: the address bar's history is theirs too
    window.addEventListener("popstate", () => {
      this.selection = selectionFromQuery(location.search);
      this.showSelection();
      for (const part of ALL_PARTS) this.setBusy(part, true);
      this.refresh(true);
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) this.refresh(false);
    });
    this.refresh(true);
  }

  /** Signed out or refused: nothing of the last token's figures stays, nothing loads. */
  private forget(): void {
    this.inFlight?.abort();
    this.inFlight = null;
    this.generation++;
    window.clearTimeout(this.timer);
    this.snapshot = null;
    this.failure = null;
    this.el.banner.hidden = true;
    this.el.kpis.replaceChildren();
  }

  private requireSignIn(reason: SignInReason): void {
    this.signIn.show(reason);
    this.forget();
  }

  /** After a 403, once: show a site the token reads, if the selected one is not. */
  private seekReadableSite(): void {
    if (this.siteSought) return;
    this.siteSought = true;
    this.api
      .sites(new AbortController().signal)
      .then((readable) => {
        const site = readableSite(this.selection.site, readable);
        if (site !== this.selection.site) this.select({ site }, ALL_PARTS);
      })
      .catch(() => undefined); // the banner already names the failure
  }

  /** Every figure changes with the filters, and each change is a step in the history. */
  private filter(filters: Selection["filters"]): void {
    this.select({ filters }, ALL_PARTS, "push");
  }

  private select(
    change: Partial<Selection>,
    loading: readonly Part[],
    step: "push" | "replace" = "replace",
  ): void {
    this.selection = { ...this.selection, ...change };
    const address = selectionToQuery(this.selection);
    if (step === "push") history.pushState(null, "", address);
    else history.replaceState(null, "", address);
    this.showSelection();
    for (const part of loading) this.setBusy(part, true);
    this.refresh(true);
  }

  /** The controls and the filter chips show the selection. */
  private showSelection(): void {
    this.controls.show(this.selection);
    this.reports.showFilters(this.selection.filters);
  }

  private setBusy(part: Part, busy: boolean): void {
    // each report card clears its own busy state as its answer is drawn
    if (part === "reports") {
      if (busy) this.reports.setBusy();
      return;
    }
    const element =
      part === "kpis" ? this.el.kpis : part === "user" ? this.el.userPanel : this.cards[part];
    setAttribute(element, "aria-busy", String(busy));
    if (part === "user" && busy) this.el.userPanel.hidden = false;
  }

  /**
   * Loads the current selection. `changed`: the selection changed, so a load in flight for
   * the old one is abandoned; otherwise a live tick, skipped while a load is still running.
   */
  private refresh(changed: boolean): void {
    if (this.signIn.shown || (this.inFlight && !changed)) return;
    this.inFlight?.abort();
    const controller = new AbortController();
    const generation = ++this.generation;
    this.inFlight = controller;
    const selection = this.selection;
    loadSnapshot(this.api, selection, new Date(), controller.signal, {
      eventTypes: this.eventTypes,
      sites: this.sites,
      dimensions: this.reports.dimensions,
    })
      .then((snapshot) => {
        if (generation !== this.generation) return;
        const quiet = !changed && this.snapshot !== null;
        this.snapshot = snapshot;
        this.render(snapshot, quiet);
        this.recovered();
      })
      .catch((error: unknown) => {
        if (generation !== this.generation || controller.signal.aborted) return;
        this.failed(error);
      })
      .finally(() => {
        if (generation !== this.generation) return;
        this.inFlight = null;
        this.schedule();
      });
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    const every = this.controls.intervalS || RETRY_S;
    if (this.signIn.shown) return;
    if (this.failure) {
      this.timer = window.setTimeout(() => this.refresh(false), Math.min(every, RETRY_S) * 1000);
    } else if (!this.controls.paused) {
      this.timer = window.setTimeout(() => {
        if (document.hidden) this.schedule();
        else this.refresh(false);
      }, every * 1000);
    }
  }

  private render(snapshot: Snapshot, quiet: boolean): void {
    // under filters no event types are asked for: their absence says nothing of the route
    if (snapshot.eventTypes === null && snapshot.selection.filters.length === 0) {
      this.eventTypes = false;
    }
    if (snapshot.sites === null) this.sites = false;
    setText(this.el.summary, rangeSummary(snapshot));
    setAttribute(this.el.summary, "data-from", snapshot.range.from.toISOString());
    setAttribute(this.el.summary, "data-to", snapshot.range.to.toISOString());
    setAttribute(this.el.summary, "data-bucket", snapshot.bucket);
    renderKpis(this.el.kpis, kpis(snapshot));
    this.reports.render(snapshot.reports);
    // no events under filters is an answer, not a site to set up
    const empty = snapshot.overview.total_events === 0 && snapshot.selection.filters.length === 0;
    if (empty) this.showOnboarding(ingestUrlFor(location), snapshot.selection.site);
    this.el.empty.hidden = !empty;
    this.el.charts.hidden = empty;
    this.el.reports.hidden = empty;
    this.el.typesCard.hidden = snapshot.eventTypes === null;
    const per = snapshot.bucket === "minute" ? "minute" : "hour";
    const page = snapshot.selection.pageUrl;
    setText(this.el.seriesTitle, page ? `Events per ${per} on ${page}` : `Events per ${per}`);
    setText(this.el.seriesSummary, seriesSummary(snapshot));
    this.charts.update(snapshot, quiet);
    renderTables(
      {
        series: byId("series-table-body", HTMLTableSectionElement),
        pages: byId("pages-table-body", HTMLTableSectionElement),
        share: byId("share-table-body", HTMLTableSectionElement),
        types: byId("types-table-body", HTMLTableSectionElement),
      },
      snapshot,
    );
    renderUser(this.el.userPanel, this.el.userBody, snapshot);
    this.controls.showSnapshot(snapshot);
    for (const part of ALL_PARTS) this.setBusy(part, false);
    this.tick();
  }

  private failed(error: unknown): void {
    if (error instanceof LoadError && needsSignIn(error.failures)) {
      const rejected = this.session.token !== null;
      this.session.signOut();
      this.requireSignIn(rejected ? "rejected" : "needed");
      return;
    }
    if (error instanceof LoadError && error.failures.some((f) => f.status === 403)) {
      this.seekReadableSite();
    }
    const lines =
      error instanceof LoadError
        ? summarize(error.failures)
        : [error instanceof Error ? error.message : String(error)];
    const text = lines.join("\n");
    if (text !== this.failure) {
      this.el.bannerLines.replaceChildren(...lines.map((line) => h("li", {}, line)));
    }
    this.failure = text;
    const shown = this.snapshot
      ? `The figures below are from ${formatMoment(this.snapshot.loadedAt)}.`
      : "Nothing loaded yet.";
    setText(this.el.bannerRetry, `Retrying every ${RETRY_S} s. ${shown}`);
    this.el.banner.hidden = false;
    setAttribute(document.body, "data-state", "error");
  }

  private recovered(): void {
    if (this.failure !== null) setText(this.el.status, "Connection restored: live data again.");
    this.failure = null;
    this.el.banner.hidden = true;
    this.signIn.showSignOut();
    setAttribute(document.body, "data-state", "ok");
  }

  /** "updated N s ago", once a second. */
  private tick(): void {
    if (!this.snapshot) return;
    const ago = formatAgo(Date.now() - this.snapshot.loadedAt.getTime());
    setText(this.el.updated, `Updated ${ago}`);
    setAttribute(this.el.updated, "data-loaded-at", this.snapshot.loadedAt.toISOString());
  }

  private fillOnboarding(): void {
    const ingest = ingestUrlFor(location);
    byId("empty-placeholder", HTMLElement).hidden = ingest !== INGEST_PLACEHOLDER;
    this.showOnboarding(ingest, this.selection.site);
    for (const button of document.querySelectorAll<HTMLButtonElement>("button[data-copy]")) {
      button.addEventListener("click", () => {
        const source = document.getElementById(button.dataset.copy ?? "");
        void navigator.clipboard
          ?.writeText(source?.textContent ?? "")
          .then(() => setText(this.el.status, "Copied."));
      });
    }
  }

  /** The empty state's snippets send to `site`, the one on screen. */
  private showOnboarding(ingest: string, site: string): void {
    setText(byId("empty-curl", HTMLElement), curlLine(ingest, site));
    setText(byId("empty-tracker", HTMLElement), trackerSnippet(ingest, site));
  }

  private exportCsv(): void {
    if (!this.snapshot) return;
    const blob = new Blob(["\uFEFF", toCsv(snapshotRows(this.snapshot))], {
      type: "text/csv;charset=utf-8",
    });
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: csvFileName(this.snapshot) });
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

new Dashboard();
