// GraphiQL with the explorer plugin, on this server's /graphql (queries and mutations over
// HTTP, subscriptions over its WebSocket). The query, variables and headers are kept in
// the URL and the browser's storage, as strawberry's page does.
"use strict";

const EXAMPLE_QUERY = `# accountflow's GraphQL API.
#
# Every request needs a token: open "Headers" below and add
#   {"Authorization": "Bearer af_..."}
# (\`accountflow token show\` prints the admin's). Then run, e.g.:

query {
  viewer { email role }
}
`;

const parameters = Object.fromEntries(new URLSearchParams(window.location.search));

function updateURL(changes) {
  Object.assign(parameters, changes);
  const kept = Object.entries(parameters).filter(([, value]) => Boolean(value));
  history.replaceState(null, "", "?" + new URLSearchParams(kept).toString());
}

const fetchURL = window.location.href.split("?")[0];
const subscriptionURL = new URL(fetchURL);
subscriptionURL.protocol = subscriptionURL.protocol === "https:" ? "wss:" : "ws:";
subscriptionURL.hash = "";

const fetcher = GraphiQL.createFetcher({
  url: fetchURL,
  subscriptionUrl: subscriptionURL.toString(),
});
const explorer = GraphiQLPluginExplorer.explorerPlugin();

function Page() {
  const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
  const [variables, setVariables] = React.useState(parameters.variables);
  return React.createElement(GraphiQL, {
    fetcher,
    plugins: [explorer],
    query,
    variables,
    defaultEditorToolsVisibility: true,
    inputValueDeprecation: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    onEditQuery: (value) => { setQuery(value); updateURL({ q: value }); },
    onEditVariables: (value) => { setVariables(value); updateURL({ variables: value }); },
  });
}

ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(Page));
