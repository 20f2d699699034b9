import { api, type CallDetail, type TimelineEntry } from "../api";
import { linkTo } from "../router";
import { ErrorBox, Message, dateTime, ms, time, useAction, useApi } from "../util";

const FINAL = new Set(["succeeded", "failed", "dead-lettered", "cancelled"]);

function describe(e: TimelineEntry): string {
  switch (e.e) {
    case "enqueued":
      return "Accepted and queued";
    case "attempt":
      return `Attempt ${e.n} started${e.worker ? ` on ${e.worker}` : ""}`;
    case "attempt-failed":
      return `Attempt ${e.n} failed${e.code ? ` (${e.code})` : ""} after ${ms(e.ms)}${e.error ? `: ${e.error}` : ""}; retry in ${ms(e.retryInMs)}`;
    case "final":
      return `Attempt ${e.n} → ${e.status}${e.code ? ` (${e.code})` : ""} in ${ms(e.ms)}${e.error ? `: ${e.error}` : ""}`;
    case "callback":
      return `Callback attempt ${e.n}: ${e.status}${e.code ? ` (${e.code})` : ""}${e.error ? ` — ${e.error}` : ""}`;
    case "redriven":
      return `Redriven from the dead-letter queue (redrive ${e.n})`;
    default:
      return e.e;
  }
}

function Body({
  title,
  p,
  truncated,
}: {
  title: string;
  p: { bytes: number; text: string | null; base64: string | null } | null;
  truncated: boolean;
}) {
  return (
    <article>
      <header>{title}</header>
      {!p || p.bytes === 0 ? (
        <p class="muted">Nothing stored.</p>
      ) : (
        <>
          <pre data-testid={title.toLowerCase()}>{p.text ?? `base64: ${p.base64}`}</pre>
          {truncated && <small class="muted">Only the first {p.bytes} bytes are shown.</small>}
        </>
      )}
    </article>
  );
}

export function CallPage({ callId }: { callId: string }) {
  const call = useApi<CallDetail>(`/system/calls/${encodeURIComponent(callId)}`, 3_000);
  const action = useAction();
  const c = call.data;
  return (
    <section>
      <p>
        <a {...linkTo("/calls")}>← Calls</a>
      </p>
      <h2 class="mono">Call {callId}</h2>
      <ErrorBox error={call.error} />
      {!c ? (
        !call.error && <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <div class="grid summary">
            <div>
              <small>Status</small>
              <p>
                <span class={`badge ${c.status}`} data-testid="call-status">
                  {c.status}
                </span>
              </p>
            </div>
            <div>
              <small>Function</small>
              <p>{c.function}</p>
            </div>
            <div>
              <small>Attempts</small>
              <p>{c.attempts}</p>
            </div>
            <div>
              <small>Callback</small>
              <p data-testid="callback-state">
                {c.callback.url
                  ? `${c.callback.state} (${c.callback.attempts} attempt${c.callback.attempts === 1 ? "" : "s"})`
                  : "none"}
              </p>
            </div>
          </div>
          <div class="actions">
            {!FINAL.has(c.status) && (
              <button
                class="secondary"
                disabled={action.busy}
                onClick={() =>
                  void action.run("Cancel", async () => {
                    await api(`/system/calls/${callId}/cancel`, { method: "POST" });
                    call.reload();
                    return "Cancel requested";
                  })
                }
              >
                Cancel
              </button>
            )}
            {c.status === "dead-lettered" && (
              <button
                disabled={action.busy}
                onClick={() =>
                  void action.run("Redrive", async () => {
                    await api(`/system/dlq/${callId}/redrive`, { method: "POST" });
                    call.reload();
                    return "Queued again";
                  })
                }
              >
                Redrive
              </button>
            )}
          </div>
          <Message message={action.message} />
          <h3>Timeline</h3>
          {c.timeline.length === 0 ? (
            <p class="muted">No timeline recorded for this call.</p>
          ) : (
            <ol class="timeline" data-testid="timeline">
              {c.timeline.map((e, i) => (
                <li key={i} class={`tl-${e.e} ${e.status ?? ""}`}>
                  <time title={dateTime(e.t)}>{time(e.t)}</time> {describe(e)}
                </li>
              ))}
            </ol>
          )}
          {c.callback.lastError && <p class="error">Last callback error: {c.callback.lastError}</p>}
          <div class="grid">
            <Body title="Request" p={c.request.preview} truncated={c.request.truncated} />
            <Body
              title="Result"
              p={c.resultPreview}
              truncated={c.resultPreview?.truncated ?? false}
            />
          </div>
        </>
      )}
    </section>
  );
}
