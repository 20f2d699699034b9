import { render } from "preact";
import "@picocss/pico/css/pico.min.css";
import "./style.css";
import { linkTo, useRoute } from "./router";
import { OverviewPage } from "./pages/overview";
import { FunctionsPage } from "./pages/functions";
import { CallsPage } from "./pages/calls";
import { CallPage } from "./pages/call";
import { DlqPage } from "./pages/dlq";
import { CallbacksPage } from "./pages/callbacks";
import { ConnectorsPage } from "./pages/connectors";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/functions", "Functions"],
  ["/calls", "Calls"],
  ["/dlq", "Dead letters"],
  ["/callbacks", "Callbacks"],
  ["/connectors", "Connectors"],
];

function Page({ path, query }: { path: string; query: URLSearchParams }) {
  const call = /^\/calls\/([^/]+)$/.exec(path);
  if (call?.[1]) return <CallPage key={call[1]} callId={decodeURIComponent(call[1])} />;
  switch (path.replace(/\/$/, "") || "/") {
    case "/":
      return <OverviewPage />;
    case "/functions":
      return <FunctionsPage />;
    case "/calls":
      return <CallsPage key={query.toString()} query={query} />;
    case "/dlq":
      return <DlqPage query={query} />;
    case "/callbacks":
      return <CallbacksPage />;
    case "/connectors":
      return <ConnectorsPage />;
    default:
      return (
        <section>
          <h2>Not found</h2>
          <p>
            No page at {path}. <a {...linkTo("/")}>Back to the overview</a>.
          </p>
        </section>
      );
  }
}

function App() {
  const { path, query } = useRoute();
  const section = "/" + (path.split("/")[1] ?? "");
  return (
    <>
      <header class="container-fluid top">
        <nav>
          <ul>
            <li>
              <strong>Ferry</strong>
            </li>
          </ul>
          <ul class="tabs">
            {NAV.map(([to, label]) => (
              <li key={to}>
                <a {...linkTo(to)} aria-current={section === to ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main class="container-fluid">
        <Page path={path} query={query} />
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
