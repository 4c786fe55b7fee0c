// The alignment lanes on ECharts (canvas): one lane per uid on the shared server-time axis.
// Tooltips are ECharts HTML: every stored value in them goes through escapeHtml.

import { useEffect, useRef, useState } from "react";
import * as echarts from "echarts/core";
import { CustomChart, ScatterChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, MarkLineComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import type { CustomSeriesRenderItemAPI, CustomSeriesRenderItemParams } from "echarts/types/dist/shared";
import { escapeHtml, focusRange, readingName, sourceName, type Lanes } from "./model";
import { localTime } from "../../format/time";

echarts.use([CustomChart, ScatterChart, GridComponent, TooltipComponent, DataZoomComponent, MarkLineComponent, CanvasRenderer]);

function isDark(): boolean {
  const t = document.documentElement.dataset.theme;
  if (t === "dark") return true;
  if (t === "light") return false;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
}

/** Re-renders when the theme toggle or the system's scheme changes. */
export function useDark(): boolean {
  const [dark, setDark] = useState(isDark);
  useEffect(() => {
    const update = () => setDark(isDark());
    const mo = new MutationObserver(update);
    mo.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    const mq = window.matchMedia?.("(prefers-color-scheme: dark)");
    mq?.addEventListener("change", update);
    return () => {
      mo.disconnect();
      mq?.removeEventListener("change", update);
    };
  }, []);
  return dark;
}

const t = (ms: number) => escapeHtml(localTime(ms));

/** A data point's pixel position (ECharts gives arrays; these always have two numbers). */
function xy(api: CustomSeriesRenderItemAPI, x: unknown, y: unknown): [number, number] {
  const c = api.coord([x as number, y as number]);
  return [c[0] ?? 0, c[1] ?? 0];
}

/** A data size in pixels along x (0) or y (1). */
function px(api: CustomSeriesRenderItemAPI, dx: number, dy: number, axis: 0 | 1): number {
  const s = api.size?.([dx, dy]);
  return Array.isArray(s) ? (s[axis] ?? 0) : 0;
}

/** The time range the x axis shows now (ECharts' model; null if it cannot be read). */
function visibleRange(chart: echarts.ECharts): [number, number] | null {
  try {
    const model = (chart as unknown as { getModel(): { getComponent(t: string, i: number): { axis: { scale: { getExtent(): number[] } } } } }).getModel();
    const [lo, hi] = model.getComponent("xAxis", 0).axis.scale.getExtent();
    return lo !== undefined && hi !== undefined ? [lo, hi] : null;
  } catch {
    return null;
  }
}

export function LanesChart({ lanes, highlight }: { lanes: Lanes; highlight: ReadonlySet<string> }) {
  const el = useRef<HTMLDivElement>(null);
  const dark = useDark();
  const chartRef = useRef<echarts.ECharts | null>(null);
  const zoomedFor = useRef<Lanes | null>(null);
  // One chart per theme; options are set on it below.
  useEffect(() => {
    if (!el.current) return;
    const chart = echarts.init(el.current, dark ? "dark" : undefined, { renderer: "canvas" });
    chartRef.current = chart;
    zoomedFor.current = null;
    const ro = new ResizeObserver(() => chart.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      chart.dispose();
      chartRef.current = null;
    };
  }, [dark]);
  // New data or a new highlight: the zoom is set only for new data, so that picking a
  // diagnostic keeps the range being looked at.
  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    const hl = (k: string) => (highlight.has(k) ? 1 : 0);
    const accent = dark ? "#7f9cff" : "#3557d6";
    const hiColor = dark ? "#ffd54f" : "#e65100";
    const focus = focusRange(lanes);
    const zoom = focus && zoomedFor.current !== lanes ? { startValue: focus[0], endValue: focus[1] } : {};
    const firstView = focus !== null && zoomedFor.current !== lanes;
    zoomedFor.current = lanes;
    chart.setOption({
      backgroundColor: "transparent",
      animation: false,
      grid: { left: 130, right: 24, top: 28, bottom: 64 },
      tooltip: { trigger: "item", confine: true },
      xAxis: {
        type: "time",
        // The axis reaches the first view's range even where no series has data (class
        // start and end are mark lines): a zoom beyond the data would be cut short.
        min: (v: { min: number }) => (focus ? Math.min(v.min, focus[0]) : v.min),
        max: (v: { max: number }) => (focus ? Math.max(v.max, focus[1]) : v.max),
        axisLabel: { hideOverlap: true },
        splitLine: { show: true, lineStyle: { opacity: 0.3 } },
      },
      yAxis: {
        type: "category",
        data: lanes.uids,
        inverse: true,
        axisLabel: { width: 120, overflow: "truncate" },
        splitLine: { show: true, lineStyle: { opacity: 0.2 } },
      },
      dataZoom: [
        { type: "inside", xAxisIndex: 0, filterMode: "none", ...zoom },
        { type: "slider", xAxisIndex: 0, filterMode: "none", height: 20, bottom: 12, ...zoom },
      ],
      series: [
        {
          name: "recordings",
          type: "custom",
          clip: true,
          encode: { x: [0, 1], y: 2 },
          // Column 6: where in the lane: -1 main (upper half), 1 aux (lower half), 0 whole.
          data: lanes.bars.map((b, i) => [b.start_ms, b.end_ms, b.lane, b.chosen ? 1 : 0, hl(b.key), i, b.media === "main" ? -1 : b.media === "aux" ? 1 : 0]),
          renderItem: (_p: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI) => {
            const start = xy(api, api.value(0), api.value(2));
            const end = xy(api, api.value(1), api.value(2));
            const full = px(api, 0, 1, 1) * 0.6;
            const half = Number(api.value(6));
            // Main and aux files of one user side by side in the lane: main above, aux below.
            const h = half === 0 ? full : full / 2 - 1;
            const top = half === 0 ? start[1] - full / 2 : half < 0 ? start[1] - full / 2 : start[1] + 1;
            const chosen = api.value(3) === 1;
            const lit = api.value(4) === 1;
            const aux = half > 0;
            return {
              type: "rect",
              shape: { x: start[0], y: top, width: Math.max(2, end[0] - start[0]), height: h },
              style: chosen
                ? aux
                  ? { fill: lit ? hiColor : dark ? "rgba(255,183,77,0.35)" : "rgba(178,106,0,0.22)", stroke: lit ? hiColor : dark ? "#ffb74d" : "#b26a00", lineWidth: 1 }
                  : { fill: lit ? hiColor : dark ? "rgba(127,156,255,0.35)" : "rgba(53,87,214,0.25)", stroke: lit ? hiColor : accent, lineWidth: 1 }
                : { fill: "transparent", stroke: lit ? hiColor : dark ? "#ffb74d" : "#b26a00", lineWidth: 1.5, lineDash: [5, 3] },
            };
          },
          tooltip: {
            formatter: (p: { data: number[] }) => {
              const b = lanes.bars[p.data[5] ?? 0];
              if (!b) return "";
              return `<b>${escapeHtml(b.chosen ? "Recording (chosen placement)" : "Recording (other reading)")}</b><br/>uid ${escapeHtml(b.uid)}<br/>video ${escapeHtml(b.video_id)}${b.media ? ` (${escapeHtml(b.media)})` : ""}<br/>source ${escapeHtml(sourceName(b.source))}<br/>by ${escapeHtml(readingName(b.reading))}<br/>${t(b.start_ms)} → ${t(b.end_ms)}`;
            },
          },
          z: 1,
        },
        {
          name: "1003 pairs",
          type: "custom",
          clip: true,
          encode: { x: 0, y: 1 },
          data: lanes.pairs.map((p, i) => [p.server_ms, p.lane, p.uncertainty_ms ?? 0, hl(p.key), i]),
          renderItem: (_p: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI) => {
            const c = xy(api, api.value(0), api.value(1));
            const unc = Number(api.value(2));
            const w = unc > 0 ? px(api, unc, 0, 0) : 0;
            const lit = api.value(3) === 1;
            const color = lit ? hiColor : accent;
            return {
              type: "group",
              children: [
                { type: "line", shape: { x1: c[0] - w, y1: c[1], x2: c[0] + w, y2: c[1] }, style: { stroke: color, lineWidth: 2 } },
                { type: "line", shape: { x1: c[0] - w, y1: c[1] - 4, x2: c[0] - w, y2: c[1] + 4 }, style: { stroke: color, lineWidth: 1 } },
                { type: "line", shape: { x1: c[0] + w, y1: c[1] - 4, x2: c[0] + w, y2: c[1] + 4 }, style: { stroke: color, lineWidth: 1 } },
                { type: "circle", shape: { cx: c[0], cy: c[1], r: lit ? 6 : 4 }, style: { fill: color } },
              ],
            };
          },
          tooltip: {
            formatter: (p: { data: number[] }) => {
              const q = lanes.pairs[p.data[4] ?? 0];
              if (!q) return "";
              return `<b>1003 pair</b> (seq ${escapeHtml(String(q.ref.seq ?? "?"))})<br/>uid ${escapeHtml(q.uid)}<br/>server ${t(q.server_ms)}<br/>client ${escapeHtml(String(q.client_ms))} ms<br/>offset ${escapeHtml(String(q.offset_ms))} ms${q.uncertainty_ms !== null ? ` ± ${escapeHtml(String(q.uncertainty_ms))} ms` : " (uncertainty unknown)"}${
                q.filter_pairs !== null
                  ? `<br/>clock filter: offset ${escapeHtml(String(q.aligned_offset_ms))} ms${q.aligned_uncertainty_ms !== null ? ` ± ${escapeHtml(String(q.aligned_uncertainty_ms))} ms` : ""}, from the fastest of ${escapeHtml(String(q.filter_pairs))} reports (seq ${escapeHtml(String(q.fastest_seq ?? "?"))})`
                  : ""
              }`;
            },
          },
          z: 3,
        },
        {
          name: "clock jumps",
          type: "scatter",
          symbol: "triangle",
          symbolSize: 14,
          itemStyle: { color: dark ? "#ff7b7b" : "#c62828" },
          data: lanes.jumps.map((j, i) => ({ value: [j.server_ms, j.lane, i], symbolSize: highlight.has(j.key) ? 20 : 14 })),
          tooltip: {
            formatter: (p: { data: { value: number[] } }) => {
              const j = lanes.jumps[p.data.value[2] ?? 0];
              if (!j) return "";
              return `<b>Clock jump</b><br/>uid ${escapeHtml(j.uid)}<br/>at ${t(j.server_ms)}<br/>${escapeHtml(String(j.jump_ms))} ms against the previous pair`;
            },
          },
          z: 4,
        },
        {
          name: "events",
          type: "scatter",
          symbol: "diamond",
          symbolSize: 7,
          itemStyle: { color: dark ? "#9aa3b2" : "#6b7280" },
          data: lanes.events.map((e, i) => ({
            value: [e.server_ms, e.lane, i],
            symbolSize: highlight.has(e.key) ? 14 : 7,
            itemStyle: highlight.has(e.key) ? { color: hiColor } : undefined,
          })),
          tooltip: {
            formatter: (p: { data: { value: number[] } }) => {
              const e = lanes.events[p.data.value[2] ?? 0];
              return e ? `<b>${escapeHtml(e.kind)}</b><br/>uid ${escapeHtml(e.uid)}<br/>${t(e.server_ms)}` : "";
            },
          },
          markLine: {
            symbol: "none",
            silent: false,
            lineStyle: { type: "solid", width: 2, color: dark ? "#5cd08e" : "#1e9e5a" },
            label: { formatter: (p: { name: string }) => p.name, position: "insideEndTop" },
            data: lanes.markers.map((m) => ({ xAxis: m.server_ms, name: m.label })),
          },
          z: 2,
        },
      ],
    });
    if (firstView && el.current) {
      // The range actually shown (after the zoom is clamped to the axis), for tests and for
      // anyone inspecting the page.
      const shown = visibleRange(chart);
      if (shown) {
        el.current.dataset.viewStart = String(Math.round(shown[0]));
        el.current.dataset.viewEnd = String(Math.round(shown[1]));
      }
    }
  }, [lanes, highlight, dark]);
  const height = Math.max(220, 90 + lanes.uids.length * 44);
  return <div ref={el} className="lanes" style={{ height }} data-testid="alignment-lanes" role="img" aria-label={`Alignment lanes for ${lanes.uids.length} users`} />;
}
