// Each user's clock offset over time (change since its first pair), one line per user:
// drift shows as a slope, a sleep or reboot as a step (marked with a triangle), a 32-bit
// clock's wrap past 2^32 ms unwrapped (marked with a pin). Tooltips escape every stored
// value.

import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";
import { LineChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, LegendComponent, MarkPointComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { localTime } from "../../format/time";
import { escapeHtml } from "./model";
import { useDark } from "./LanesChart";
import type { OffsetSeries } from "./offsets";

echarts.use([LineChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, MarkPointComponent, CanvasRenderer]);

/** A mark on the pair at server time `x`: "jump" (reboot, sleep) or "wrap" (32-bit clock past 2^32 ms). */
function mark(s: OffsetSeries, x: number, symbol: string, label: string, color: string) {
  const p = s.points.find((q) => q[0] === x);
  if (!p) return null;
  return {
    name: label,
    coord: p,
    symbol,
    symbolSize: symbol === "pin" ? 30 : 14,
    itemStyle: { color },
    label: { show: symbol === "pin", formatter: label, fontSize: 9 },
    tooltip: { formatter: () => `uid ${escapeHtml(s.uid)}<br/>${escapeHtml(localTime(x))}<br/>${label === "wrap" ? "32-bit clock wrapped past 2^32 ms (unwrapped here)" : "clock jumped (sleep, reboot or clock change)"}` },
  };
}

export function OffsetChart({ series }: { series: OffsetSeries[] }) {
  const el = useRef<HTMLDivElement>(null);
  const dark = useDark();
  const chartRef = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    if (!el.current) return;
    const chart = echarts.init(el.current, dark ? "dark" : undefined, { renderer: "canvas" });
    chartRef.current = chart;
    const ro = new ResizeObserver(() => chart.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      chart.dispose();
      chartRef.current = null;
    };
  }, [dark]);
  useEffect(() => {
    const chart = chartRef.current;
    if (!chart) return;
    chart.setOption(
      {
        backgroundColor: "transparent",
        animation: false,
        grid: { left: 70, right: 24, top: 36, bottom: 56 },
        legend: { type: "scroll", top: 4, formatter: (name: string) => (name.length > 24 ? `${name.slice(0, 23)}…` : name) },
        tooltip: {
          trigger: "item",
          confine: true,
          formatter: (p: { seriesName: string; data: [number, number] }) =>
            `uid ${escapeHtml(p.seriesName)}<br/>${escapeHtml(localTime(p.data[0]))}<br/>offset change ${p.data[1] >= 0 ? "+" : ""}${p.data[1].toLocaleString()} ms`,
        },
        xAxis: { type: "time", axisLabel: { hideOverlap: true } },
        yAxis: { type: "value", name: "ms since first pair", nameTextStyle: { align: "left" }, scale: true },
        dataZoom: [{ type: "inside", filterMode: "none" }],
        series: series.map((s) => ({
          name: s.uid,
          type: "line",
          step: false,
          showSymbol: true,
          symbolSize: 6,
          data: s.points,
          markPoint: {
            data: [
              ...s.jumps.map((x) => mark(s, x, "triangle", "jump", "#d9822b")),
              ...s.wraps.map((x) => mark(s, x, "pin", "wrap", "#7c5cff")),
            ].filter((m) => m !== null),
          },
        })),
      },
      { notMerge: true },
    );
  }, [series, dark]);
  return <div ref={el} className="offset-chart" data-testid="offset-chart" role="img" aria-label="Each user's clock offset over time" />;
}
