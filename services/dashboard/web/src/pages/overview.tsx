import { useEffect, useMemo, useState } from "preact/hooks";
import { api, describeError, type Overview } from "../api";
import { Chart, type Series } from "../chart";
import { linkTo } from "../router";
import { Empty, ErrorBox, Table, age } from "../util";

const OUTCOMES: [string, string][] = [
  ["succeeded", "#2e7d32"],
  ["failed", "#c62828"],
  ["dead-lettered", "#6a1b9a"],
  ["cancelled", "#757575"],
];

/** Live overview from the server-sent `/system/stream`; polls `/system/overview` when it fails. */
function useOverview(): { data: Overview | undefined; error: string | null; live: boolean } {
  const [data, setData] = useState<Overview | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        setData(await api<Overview>("/system/overview"));
        setError(null);
      } catch (err) {
        setError(describeError(err));
      }
      if (!stopped) timer = setTimeout(() => void poll(), 5_000);
    };
    const stream = new EventSource("/system/stream");
    stream.addEventListener("overview", (e) => {
      setData(JSON.parse((e as MessageEvent<string>).data) as Overview);
      setError(null);
      setLive(true);
    });
    stream.addEventListener("problem", (e) => {
      setError(JSON.parse((e as MessageEvent<string>).data).message as string);
    });
    stream.onerror = () => {
      // Closed or refused (e.g. 401): fall back to polling, which reports why.
      if (stream.readyState === EventSource.CLOSED && !stopped) {
        setLive(false);
        void poll();
      }
    };
    return () => {
      stopped = true;
      stream.close();
      clearTimeout(timer);
    };
  }, []);
  return { data, error, live };
}

export function OverviewPage() {
  const { data, error, live } = useOverview();
  const charts = useMemo(() => {
    const buckets = data?.stats?.buckets ?? [];
    const perSecond = (data?.stats?.bucketMs ?? 10_000) / 1000;
    const times = buckets.map((b) => b.t / 1000);
    const accept: Series[] = [
      { label: "accepted/s", color: "#1565c0", values: buckets.map((b) => b.accepted / perSecond) },
    ];
    const done: Series[] = OUTCOMES.map(([status, color]) => ({
      label: status,
      color,
      values: buckets.map((b) => (b.done[status] ?? 0) / perSecond),
    }));
    const latency: Series[] = (["p50", "p90", "p99"] as const).map((p, i) => ({
      label: p,
      color: ["#2e7d32", "#ef6c00", "#c62828"][i] ?? "#000",
      values: buckets.map((b) => (b.e2e ? b.e2e[p] : null)),
      points: true,
    }));
    return { times, accept, done, latency, pad: perSecond };
  }, [data]);
  return (
    <section>
      <h2>
        Overview{" "}
        <small class={live ? "live" : "muted"} data-testid="live">
          {live ? "● live" : data ? "polling" : "connecting…"}
        </small>
      </h2>
      <ErrorBox error={error} />
      <h3>Queues</h3>
      {!data ? (
        !error && <p aria-busy="true">Loading…</p>
      ) : data.queues.length === 0 ? (
        <Empty>No queues yet: deploy a function to see its queue here.</Empty>
      ) : (
        <Table testid="queues">
          <thead>
            <tr>
              <th>Queue</th>
              <th>Functions</th>
              <th>Pending</th>
              <th>In flight</th>
              <th>Redelivered</th>
              <th>Oldest waiting</th>
              <th>DLQ</th>
            </tr>
          </thead>
          <tbody>
            {data.queues.map((q) => (
              <tr key={q.queue} data-queue={q.queue}>
                <td>{q.queue}</td>
                <td>{q.functions.join(", ") || "—"}</td>
                <td data-testid="pending">{q.waiting}</td>
                <td data-testid="inflight">{q.running}</td>
                <td>{q.redelivered}</td>
                <td>{age(q.oldestAgeSeconds)}</td>
                <td>{q.dlq > 0 ? <a {...linkTo("/dlq")}>{q.dlq}</a> : 0}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      <h3>Last 15 minutes</h3>
      {data && !data.stats ? (
        <Empty>No call statistics: the gateway runs without Redis.</Empty>
      ) : (
        <div class="charts">
          <Chart
            title="Accept rate"
            unit="calls/s"
            padSeconds={charts.pad}
            times={charts.times}
            series={charts.accept}
          />
          <Chart
            title="Completions by outcome"
            unit="calls/s"
            padSeconds={charts.pad}
            times={charts.times}
            series={charts.done}
          />
          <Chart
            title="End-to-end latency"
            unit="ms"
            padSeconds={charts.pad}
            times={charts.times}
            series={charts.latency}
          />
        </div>
      )}
    </section>
  );
}
