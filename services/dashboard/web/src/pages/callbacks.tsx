import { api, type FailedCallback } from "../api";
import { linkTo } from "../router";
import { Empty, ErrorBox, Message, Table, dateTime, useAction, useApi } from "../util";

export function CallbacksPage() {
  const list = useApi<{ callbacks: FailedCallback[] }>("/system/callbacks/failed?limit=200", 5_000);
  const action = useAction();
  const items = list.data?.callbacks ?? [];
  return (
    <section>
      <h2>Failed callbacks</h2>
      <p class="muted">
        Deliveries of the callback queue that gave up. Retrying starts a new round of attempts.
      </p>
      <Message message={action.message} />
      <ErrorBox error={list.error} />
      {list.data === undefined ? (
        !list.error && <p aria-busy="true">Loading…</p>
      ) : items.length === 0 ? (
        <Empty>No failed callback deliveries.</Empty>
      ) : (
        <Table testid="callbacks">
          <thead>
            <tr>
              <th>Call</th>
              <th>Function</th>
              <th>URL</th>
              <th>Attempts</th>
              <th>Last error</th>
              <th>Failed</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((c) => (
              <tr key={c.callId} data-call={c.callId}>
                <td>
                  <a {...linkTo(`/calls/${c.callId.split("#")[0]}`)} class="mono">
                    {c.callId}
                  </a>
                </td>
                <td>{c.function}</td>
                <td class="wrap">
                  <small>{c.url}</small>
                </td>
                <td>{c.attempts}</td>
                <td>
                  <small>{c.lastError ?? "—"}</small>
                </td>
                <td>{dateTime(c.failedAt)}</td>
                <td>
                  <button
                    class="small"
                    disabled={action.busy}
                    onClick={() =>
                      void action.run("Retry", async () => {
                        await api(`/system/callbacks/${encodeURIComponent(c.callId)}/retry`, {
                          method: "POST",
                        });
                        list.reload();
                        return `Retrying the callback of ${c.callId}`;
                      })
                    }
                  >
                    Retry
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
    </section>
  );
}
