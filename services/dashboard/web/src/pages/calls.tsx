import { useState } from "preact/hooks";
import type { CallRow } from "../api";
import { linkTo, navigate } from "../router";
import { Empty, ErrorBox, Table, ms, time, useApi } from "../util";

const STATUSES = ["", "queued", "running", "succeeded", "failed", "dead-lettered", "cancelled"];

export function CallsPage({ query }: { query: URLSearchParams }) {
  const q = query.get("q") ?? "";
  const status = query.get("status") ?? "";
  const fn = query.get("function") ?? "";
  const [text, setText] = useState(q);
  const params = new URLSearchParams({ limit: "100" });
  if (q) params.set("q", q);
  if (status) params.set("status", status);
  if (fn) params.set("function", fn);
  const calls = useApi<{ items: CallRow[]; total: number }>(`/system/calls?${params}`, 5_000);
  const go = (next: Record<string, string>): void => {
    const p = new URLSearchParams({ q, status, function: fn, ...next });
    for (const [k, v] of [...p]) if (!v) p.delete(k);
    navigate(`/calls${p.toString() ? `?${p}` : ""}`);
  };
  return (
    <section>
      <h2>Calls</h2>
      <form
        role="search"
        onSubmit={async (e) => {
          e.preventDefault();
          const id = text.trim();
          // An exact call id opens its page.
          if (id && calls.data?.items.length === 1 && calls.data.items[0]?.callId === id) {
            return navigate(`/calls/${id}`);
          }
          const res = id
            ? await fetch(`/system/calls/${encodeURIComponent(id)}`, { credentials: "same-origin" })
            : null;
          if (res?.ok) return navigate(`/calls/${id}`);
          go({ q: id });
        }}
      >
        <input
          type="search"
          name="q"
          placeholder="Call id (or part of one)"
          aria-label="Search by call id"
          value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)}
        />
        <input type="submit" value="Search" />
      </form>
      <div class="filters">
        <label>
          Status
          <select
            value={status}
            onChange={(e) => go({ status: (e.target as HTMLSelectElement).value })}
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
        <label>
          Function
          <input
            value={fn}
            placeholder="any"
            onChange={(e) => go({ function: (e.target as HTMLInputElement).value.trim() })}
          />
        </label>
      </div>
      <ErrorBox error={calls.error} />
      {calls.data === undefined ? (
        !calls.error && <p aria-busy="true">Loading…</p>
      ) : calls.data.items.length === 0 ? (
        <Empty>
          {q || status || fn
            ? "No call matches."
            : "No calls yet: calls appear here when the gateway accepts them."}
        </Empty>
      ) : (
        <Table testid="calls">
          <thead>
            <tr>
              <th>Call</th>
              <th>Function</th>
              <th>Status</th>
              <th>Attempts</th>
              <th>Accepted</th>
              <th>Duration</th>
              <th>Callback</th>
            </tr>
          </thead>
          <tbody>
            {calls.data.items.map((c) => (
              <tr key={c.callId}>
                <td>
                  <a {...linkTo(`/calls/${c.callId}`)} class="mono">
                    {c.callId}
                  </a>
                </td>
                <td>{c.function}</td>
                <td>
                  <span class={`badge ${c.status}`}>{c.status}</span>
                </td>
                <td>{c.attempts}</td>
                <td>{time(c.enqueuedAt)}</td>
                <td>{ms(c.durationMs)}</td>
                <td>{c.callbackState}</td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {calls.data && <small class="muted">{calls.data.total} recent calls kept</small>}
    </section>
  );
}
