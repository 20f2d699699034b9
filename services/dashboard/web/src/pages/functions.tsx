import { useState } from "preact/hooks";
import { api, type FunctionView, type Stats } from "../api";
import { linkTo } from "../router";
import { Empty, ErrorBox, Message, Table, ms, useAction, useApi } from "../util";

function retryText(f: FunctionView): string {
  if (!f.retry || Object.keys(f.retry).length === 0) return "worker default";
  return Object.entries(f.retry)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join("/") : String(v)}`)
    .join(", ");
}

function FunctionRow({
  f,
  stats,
  onChange,
}: {
  f: FunctionView;
  stats: Stats["functions"][string] | undefined;
  onChange: () => void;
}) {
  const [replicas, setReplicas] = useState(String(f.minReplicas));
  const [body, setBody] = useState("");
  const action = useAction();
  const done = stats?.done ?? {};
  const failures = (done.failed ?? 0) + (done["dead-lettered"] ?? 0);
  return (
    <tr data-function={f.name}>
      <td>
        <strong>{f.name}</strong>
        <br />
        <small>queue {f.queue}</small>
      </td>
      <td>
        {f.status.ready ?? "—"} / {f.status.desired ?? "—"}
        {f.watchdog ? (
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              void action.run("Scale", async () => {
                await api(`/system/scale-function/${f.name}`, {
                  method: "POST",
                  body: { replicas: Number(replicas) },
                });
                onChange();
                return `${f.name}: at least ${replicas} replicas`;
              });
            }}
          >
            <input
              type="number"
              min="0"
              max="1000"
              value={replicas}
              aria-label="replicas"
              onInput={(e) => setReplicas((e.target as HTMLInputElement).value)}
            />
            <button type="submit" class="secondary" disabled={action.busy}>
              Scale
            </button>
          </form>
        ) : (
          <small class="muted"> (external url)</small>
        )}
      </td>
      <td>{f.status.queued}</td>
      <td>{f.status.inflight ?? "—"}</td>
      <td>
        <span class="good">{done.succeeded ?? 0}</span> / <span class="bad">{failures}</span>
      </td>
      <td>
        {stats?.duration
          ? `${ms(stats.duration.p50)} · ${ms(stats.duration.p90)} · ${ms(stats.duration.p99)}`
          : "—"}
      </td>
      <td>{f.triggers?.length ? f.triggers.join(", ") : "—"}</td>
      <td>
        <small>{retryText(f)}</small>
      </td>
      <td>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void action.run("Invoke", async () => {
              const res = await api<{ callId: string }>(`/system/functions/${f.name}/invoke`, {
                method: "POST",
                raw: body,
                contentType: "text/plain",
              });
              return `queued call ${res.callId}`;
            });
          }}
        >
          <input
            placeholder="body"
            value={body}
            aria-label="request body"
            onInput={(e) => setBody((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={action.busy}>
            Invoke
          </button>
        </form>
        <Message message={action.message} />
        {action.message?.kind === "ok" && action.message.text.startsWith("queued call ") && (
          <a {...linkTo(`/calls/${action.message.text.slice("queued call ".length)}`)}>open call</a>
        )}
      </td>
    </tr>
  );
}

export function FunctionsPage() {
  const fns = useApi<FunctionView[]>("/system/functions", 5_000);
  const stats = useApi<Stats>("/system/stats?minutes=15", 10_000);
  return (
    <section>
      <h2>Functions</h2>
      <ErrorBox error={fns.error} />
      <ErrorBox error={stats.error} />
      {fns.data === undefined ? (
        !fns.error && <p aria-busy="true">Loading…</p>
      ) : fns.data.length === 0 ? (
        <Empty>
          No functions deployed. Deploy one with `ferry deploy` or POST /system/functions.
        </Empty>
      ) : (
        <Table testid="functions">
          <thead>
            <tr>
              <th>Function</th>
              <th>Replicas ready / desired</th>
              <th>Queued</th>
              <th>In flight</th>
              <th>OK / failed (15 min)</th>
              <th>Duration p50 · p90 · p99</th>
              <th>Triggers</th>
              <th>Retry policy</th>
              <th>Invoke</th>
            </tr>
          </thead>
          <tbody>
            {fns.data.map((f) => (
              <FunctionRow
                key={f.name}
                f={f}
                stats={stats.data?.functions[f.name]}
                onChange={fns.reload}
              />
            ))}
          </tbody>
        </Table>
      )}
    </section>
  );
}
