import type { ConnectorView } from "../api";
import { Empty, ErrorBox, Table, age, dateTime, useApi } from "../util";

export function ConnectorsPage() {
  const list = useApi<{ connectors: ConnectorView[] }>("/system/connectors", 5_000);
  const items = list.data?.connectors ?? [];
  return (
    <section>
      <h2>Connectors</h2>
      <ErrorBox error={list.error} />
      {list.data === undefined ? (
        !list.error && <p aria-busy="true">Loading…</p>
      ) : items.length === 0 ? (
        <Empty>
          No connector is running. Connectors (cron, webhook, Kafka, S3) report here once started.
        </Empty>
      ) : (
        <Table testid="connectors">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Source</th>
              <th>State</th>
              <th>Last event</th>
              <th>Lag</th>
              <th>Published</th>
              <th>Failures</th>
              <th>Heartbeat</th>
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={`${c.eventSource}-${c.startedAt}`}>
                <td>{c.kind}</td>
                <td class="wrap">
                  <small>{c.eventSource}</small>
                </td>
                <td>
                  <span
                    class={`badge ${c.state === "running" && c.connected ? "succeeded" : "failed"}`}
                  >
                    {c.state}
                    {c.connected ? "" : " (disconnected)"}
                  </span>
                </td>
                <td>{dateTime(c.lastEventAt)}</td>
                <td>{age(c.lagSeconds)}</td>
                <td>{c.published}</td>
                <td>{c.failures}</td>
                <td>{dateTime(c.at)}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </section>
  );
}
