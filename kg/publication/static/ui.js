// The query UI at /ui (kg/publication/templates/ui.html): YASGUI with one tab per named query. A static
// file, not an inline script, so the Content-Security-Policy allows only this server's scripts (kg/api/headers.py).
(function () {
  var tabs = JSON.parse(document.getElementById("remit-tabs").textContent);
  var endpoint = new URL("sparql", document.baseURI).href;
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true, autoAddOnInit: false, persistenceId: null, populateFromUrl: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } }
  });
  tabs.forEach(function (t, i) {
    yasgui.addTab(i === 0, { name: t.name, yasqe: { value: t.query }, requestConfig: { endpoint: endpoint } });
  });
  var asked = new URLSearchParams(window.location.search).get("query");
  if (asked) {
    var tab = yasgui.addTab(true, { name: "Your query", yasqe: { value: asked }, requestConfig: { endpoint: endpoint } });
    tab.show && tab.show();
    setTimeout(function () { var t = yasgui.getTab(); if (t) { t.query(); } }, 0);
  } else if (!tabs.length) {
    yasgui.addTab(true, { name: "Query", yasqe: { value: "SELECT * WHERE { ?s ?p ?o } LIMIT 10" }, requestConfig: { endpoint: endpoint } });
  }
  window.remitYasgui = yasgui;
})();
