/* clickstream tracker: page views and link/button clicks, batched by sendBeacon.
   <script src="https://ingest.example/tracker.js" data-key="WRITE_KEY" async></script> */
(function (w, d) {
  var s = d.currentScript, L = w.localStorage, S = w.sessionStorage, q = [];
  if (!s || !w.crypto || !crypto.randomUUID) return;
  var base = s.getAttribute("data-endpoint") || new URL(s.src).origin,
    key = s.getAttribute("data-key"),
    url = base + "/ingest" + (key ? "?key=" + encodeURIComponent(key) : "");
  function id(store, name) {
    var v;
    try { v = store.getItem(name); if (!v) { v = crypto.randomUUID(); store.setItem(name, v); } }
    catch (e) { v = v || crypto.randomUUID(); }
    return v;
  }
  var user = id(L, "cs_uid"), session = id(S, "cs_sid");
  function flush() {
    if (!q.length) return;
    var batch = q.splice(0, 100);
    if (!navigator.sendBeacon(url, JSON.stringify(batch))) q = batch.concat(q);
  }
  function track(type, props) {
    q.push({
      event_id: crypto.randomUUID(), user_id: user, session_id: session, event_type: type,
      page_url: location.pathname + location.search, referrer: d.referrer || undefined,
      time_stamp: new Date().toISOString(), properties: props
    });
    if (q.length >= 20) flush();
  }
  d.addEventListener("click", function (e) {
    var t = e.target && e.target.closest && e.target.closest("a,button");
    if (!t) return;
    track("click", {
      element: t.tagName.toLowerCase(), id: t.id || undefined,
      href: t.href || undefined, text: (t.textContent || "").trim().slice(0, 80)
    });
  }, true);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") flush(); });
  w.addEventListener("pagehide", flush);
  setInterval(flush, 5000);
  track("pageview");
  w.clickstream = { track: track, flush: flush };
})(window, document);
