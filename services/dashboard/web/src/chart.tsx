import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
  /** Draw each value as a point and join values across empty buckets (sparse series such as latency). */
  points?: boolean;
}

/** A uPlot line chart over time (seconds) that follows its container's width. */
export function Chart(props: {
  title: string;
  times: number[];
  series: Series[];
  unit: string;
  /** Seconds of empty axis after the last value. */
  padSeconds: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join("|");
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 240),
      height: 180,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{}, { label: props.unit, size: 50 }],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          spanGaps: Boolean(s.points),
          ...(s.points ? { points: { show: true, size: 7, fill: s.color } } : {}),
        })),
      ],
    };
    const u = new uPlot(opts, dataOf(props), el);
    plot.current = u;
    const resize = new ResizeObserver(() =>
      u.setSize({ width: Math.max(el.clientWidth, 240), height: 180 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series change; data updates go through setData.
  }, [shape]);
  useEffect(() => {
    plot.current?.setData(dataOf(props));
  }, [props.times, props.series]);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} />
    </figure>
  );
}

/** The chart's data, with an empty slot after the last value so that it is not drawn on the edge. */
function dataOf(props: {
  times: number[];
  series: Series[];
  padSeconds: number;
}): uPlot.AlignedData {
  const last = props.times.at(-1);
  if (last === undefined) return [props.times, ...props.series.map((s) => s.values)];
  return [
    [...props.times, last + props.padSeconds],
    ...props.series.map((s) => [...s.values, null]),
  ];
}
