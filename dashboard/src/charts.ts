/** The four charts, created once and updated in place (no flicker on a live refresh). */

import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartType,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  type Scale,
  Tooltip,
} from "chart.js";
import { ellipsize, formatBucket } from "./format";
import type { Snapshot } from "./snapshot";
import { shareOfTopPages } from "./view";

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

interface Palette {
  readonly text: string;
  readonly muted: string;
  readonly grid: string;
  readonly accent: string;
  readonly accentFill: string;
  readonly highlight: string;
  readonly categorical: readonly string[];
}

function palette(): Palette {
  const style = getComputedStyle(document.documentElement);
  const color = (name: string): string => style.getPropertyValue(name).trim();
  return {
    text: color("--text"),
    muted: color("--muted"),
    grid: color("--grid"),
    accent: color("--accent"),
    accentFill: color("--accent-fill"),
    highlight: color("--highlight"),
    categorical: [1, 2, 3, 4, 5, 6].map((n) => color(`--cat-${n}`)),
  };
}

export interface Canvases {
  readonly series: HTMLCanvasElement;
  readonly pages: HTMLCanvasElement;
  readonly share: HTMLCanvasElement;
  readonly types: HTMLCanvasElement;
}

type Labelled<T extends ChartType> = Chart<T, number[], string>;

function create<T extends ChartType>(
  canvas: HTMLCanvasElement,
  config: ChartConfiguration<T, number[], string>,
): Labelled<T> {
  return new Chart(canvas, config);
}

/** A category axis that shortens long URLs; the tooltip and the data table keep them whole. */
function shortLabels(this: Scale, value: string | number): string {
  return ellipsize(this.getLabelForValue(Number(value)), this.chart.width < 420 ? 16 : 24);
}

export class Charts {
  private readonly series: Labelled<"line">;
  private readonly pages: Labelled<"bar">;
  private readonly share: Labelled<"doughnut">;
  private readonly types: Labelled<"bar">;
  private palette: Palette = palette();
  private highlighted = "";

  constructor(canvases: Canvases) {
    const common = { responsive: true, maintainAspectRatio: false, animation: { duration: 250 } };
    this.series = create(canvases.series, {
      type: "line",
      data: {
        labels: [],
        // monotone: the curve never overshoots the counts (no dips below zero)
        datasets: [{ label: "Events", data: [], fill: true, cubicInterpolationMode: "monotone" }],
      },
      options: {
        ...common,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { display: false } },
        scales: {
          x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
    this.pages = create(canvases.pages, {
      type: "bar",
      data: { labels: [], datasets: [{ label: "Events", data: [], borderRadius: 4 }] },
      options: {
        ...common,
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0 } },
          y: { ticks: { callback: shortLabels } },
        },
      },
    });
    this.share = create(canvases.share, {
      type: "doughnut",
      data: { labels: [], datasets: [{ label: "Events", data: [], borderWidth: 2 }] },
      options: {
        ...common,
        cutout: "62%",
        plugins: {
          legend: {
            position: "bottom",
            labels: { boxWidth: 12, generateLabels: shortLegend },
          },
        },
      },
    });
    this.types = create(canvases.types, {
      type: "bar",
      data: { labels: [], datasets: [{ label: "Events", data: [], borderRadius: 4 }] },
      options: {
        ...common,
        plugins: { legend: { display: false } },
        scales: {
          x: { ticks: { callback: shortLabels } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
    this.applyTheme();
  }

  /** `quiet`: a live refresh of the same view, updated without animation. */
  update(snapshot: Snapshot, quiet: boolean): void {
    const mode = quiet ? "none" : undefined;
    const points = snapshot.series.points;
    this.set(
      this.series,
      points.map((point) => formatBucket(point.t, snapshot.bucket)),
      points.map((point) => point.count),
    );
    this.set(
      this.pages,
      snapshot.topPages.map((page) => page.page_url),
      snapshot.topPages.map((page) => page.count),
    );
    const share = shareOfTopPages(snapshot);
    this.set(
      this.share,
      share.map((slice) => slice.label),
      share.map((slice) => slice.count),
    );
    const types = snapshot.eventTypes?.types ?? [];
    this.set(
      this.types,
      types.map((type) => type.event_type),
      types.map((type) => type.count),
    );
    this.highlight(snapshot.selection.pageUrl);
    for (const chart of this.all()) chart.update(mode);
  }

  /** Re-reads the theme's colours (CSS custom properties) after a theme change. */
  applyTheme(): void {
    const colors = palette();
    for (const chart of this.all()) {
      const options = chart.options;
      options.color = colors.text;
      options.borderColor = colors.grid;
      for (const scale of Object.values(options.scales ?? {})) {
        if (!scale) continue;
        scale.grid = { ...scale.grid, color: colors.grid };
        scale.ticks = { ...scale.ticks, color: colors.muted };
      }
    }
    const line = this.series.data.datasets[0];
    if (line) {
      line.borderColor = colors.accent;
      line.backgroundColor = colors.accentFill;
      line.pointRadius = 0;
      line.pointHoverRadius = 4;
    }
    const types = this.types.data.datasets[0];
    if (types) types.backgroundColor = [...colors.categorical];
    const share = this.share.data.datasets[0];
    if (share) {
      share.backgroundColor = [...colors.categorical];
      share.borderColor = getComputedStyle(document.documentElement)
        .getPropertyValue("--surface")
        .trim();
    }
    this.palette = colors;
    this.highlight(this.highlighted);
    for (const chart of this.all()) chart.update("none");
  }

  /** The filtered page's bar stands out in the top pages chart. */
  private highlight(pageUrl: string): void {
    this.highlighted = pageUrl;
    const bars = this.pages.data.datasets[0];
    if (!bars) return;
    const labels = this.pages.data.labels ?? [];
    bars.backgroundColor = labels.map((label) =>
      pageUrl && label === pageUrl ? this.palette.highlight : this.palette.accent,
    );
  }

  private set<T extends ChartType>(chart: Labelled<T>, labels: string[], values: number[]): void {
    chart.data.labels = labels;
    const dataset = chart.data.datasets[0];
    if (dataset) dataset.data = values;
  }

  private all(): Chart[] {
    return [this.series, this.pages, this.share, this.types] as Chart[];
  }
}

/** Doughnut legend entries with shortened URLs (the tooltip shows them whole). */
function shortLegend(
  chart: Chart,
): ReturnType<typeof Chart.defaults.plugins.legend.labels.generateLabels> {
  const items = Chart.overrides.doughnut.plugins.legend.labels.generateLabels(chart);
  return items.map((item) => ({ ...item, text: ellipsize(item.text, 22) }));
}
