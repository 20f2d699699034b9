import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { api, type DeadLetter } from "../api";
import { linkTo, navigate } from "../router";
import { Empty, ErrorBox, Message, Table, dateTime, useAction, useApi } from "../util";

function Inspect({ callId }: { callId: string }) {
  const letter = useApi<DeadLetter & { body: string }>(`/system/dlq/${callId}`);
  if (letter.error) return <ErrorBox error={letter.error} />;
  if (!letter.data) return <p aria-busy="true">Loading…</p>;
  let body: string;
  try {
    body = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(atob(letter.data.body), (ch) => ch.charCodeAt(0)),
    );
  } catch {
    body = `base64: ${letter.data.body}`;
  }
  return (
    <pre data-testid="dlq-body">
      {body.length > 4096 ? `${body.slice(0, 4096)}…` : body || "(empty body)"}
    </pre>
  );
}

export function DlqPage({ query }: { query: URLSearchParams }) {
  const fn = query.get("function") ?? "";
  const list = useApi<{ items: DeadLetter[]; next: number | null }>(
    `/system/dlq?limit=200${fn ? `&function=${encodeURIComponent(fn)}` : ""}`,
    5_000,
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const action = useAction();
  const items = list.data?.items ?? [];
  const toggle = (id: string): void => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const redrive = (ids: string[]): Promise<void> =>
    action.run("Redrive", async () => {
      const res = await api<{ redriven: string[]; notFound: string[] }>("/system/dlq/redrive", {
        method: "POST",
        body: { callIds: ids },
      });
      setSelected(new Set());
      list.reload();
      return `Redriven ${res.redriven.length}${res.notFound.length ? `, ${res.notFound.length} not found` : ""}`;
    });
  return (
    <section>
      <h2>Dead letters</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const v = (
            (e.target as HTMLFormElement).elements.namedItem("function") as HTMLInputElement
          ).value.trim();
          navigate(`/dlq${v ? `?function=${encodeURIComponent(v)}` : ""}`);
        }}
      >
        <label>
          Function
          <input name="function" placeholder="any" value={fn} />
        </label>
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      <div class="actions">
        <button
          disabled={selected.size === 0 || action.busy}
          onClick={() => void redrive([...selected])}
        >
          Redrive selected ({selected.size})
        </button>
        {fn && (
          <button
            class="secondary"
            disabled={action.busy || items.length === 0}
            onClick={() =>
              void action.run("Redrive all", async () => {
                const res = await api<{ redriven: string[] }>("/system/dlq/redrive", {
                  method: "POST",
                  body: { function: fn },
                });
                list.reload();
                return `Redriven all ${res.redriven.length} of ${fn}`;
              })
            }
          >
            Redrive all of {fn}
          </button>
        )}
      </div>
      <Message message={action.message} />
      <ErrorBox error={list.error} />
      {list.data === undefined ? (
        !list.error && <p aria-busy="true">Loading…</p>
      ) : items.length === 0 ? (
        <Empty>
          {fn
            ? `No dead letters of ${fn}.`
            : "No dead letters. Calls that exhaust their retries land here."}
        </Empty>
      ) : (
        <Table testid="dlq">
          <thead>
            <tr>
              <th />
              <th>Call</th>
              <th>Function</th>
              <th>Reason</th>
              <th>Error</th>
              <th>Attempts</th>
              <th>Dead since</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <Fragment key={d.callId}>
                <tr data-call={d.callId}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`select ${d.callId}`}
                      checked={selected.has(d.callId)}
                      onChange={() => toggle(d.callId)}
                    />
                  </td>
                  <td>
                    <a {...linkTo(`/calls/${d.callId}`)} class="mono">
                      {d.callId}
                    </a>
                  </td>
                  <td>{d.function}</td>
                  <td>{d.reason}</td>
                  <td>
                    <small>{d.error}</small>
                  </td>
                  <td>{d.attempts}</td>
                  <td>{dateTime(d.deadAt)}</td>
                  <td class="nowrap">
                    <button
                      class="outline small"
                      onClick={() => setOpen(open === d.callId ? null : d.callId)}
                    >
                      {open === d.callId ? "Hide" : "Inspect"}
                    </button>{" "}
                    <button
                      class="small"
                      disabled={action.busy}
                      onClick={() => void redrive([d.callId])}
                    >
                      Redrive
                    </button>{" "}
                    <button
                      class="small contrast"
                      disabled={action.busy}
                      onClick={() => {
                        if (!confirm(`Delete the dead letter of ${d.callId}?`)) return;
                        void action.run("Delete", async () => {
                          await api(`/system/dlq/${d.callId}`, { method: "DELETE" });
                          list.reload();
                          return `Deleted ${d.callId}`;
                        });
                      }}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
                {open === d.callId && (
                  <tr>
                    <td colSpan={8}>
                      <Inspect callId={d.callId} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </Table>
      )}
    </section>
  );
}
