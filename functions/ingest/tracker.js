/* clickstream tracker: its attributes are in docs/api.md */
(function (w, d, n) {
  var s = d.currentScript, D, L, c, q = [], no = function () {};
  if (!s || !w.crypto || !crypto.randomUUID) return;
  D = s.dataset, c = "cookieless" in D, L = c ? 0 : w.localStorage;
  if ("respectDnt" in D && (n.doNotTrack == "1" || n.globalPrivacyControl))
    return void (w.clickstream = { track: no, flush: no });
  var key = D.key, site = D.site,
    url = (D.endpoint || new URL(s.src).origin) + "/ingest" +
      (key ? "?key=" + encodeURIComponent(key) : ""),
    uuid = crypto.randomUUID.bind(crypto),
    get = function (k) { try { return L.getItem(k); } catch (e) {} },
    set = function (k, v) { try { L.setItem(k, v); } catch (e) {} },
    user = c ? void 0 : get("cs_uid") || uuid();
  set("cs_uid", user);
  function visit() {
    var now = Date.now(), v = (get("cs_visit") || "").split(" ");
    v = now - v[1] < 18e5 ? v[0] : uuid();
    set("cs_visit", v + " " + now);
    return v;
  }
  function flush() {
    if (!q.length) return;
    var b = q.splice(0, 100);
    if (!n.sendBeacon(url, JSON.stringify(b))) q = b.concat(q);
  }
  function track(type, props) {
    q.push({
      event_id: uuid(), site: site, user_id: user, session_id: c ? user : visit(), event_type: type,
      page_url: location.pathname + location.search, referrer: d.referrer || undefined,
      time_stamp: new Date().toISOString(), properties: props
    });
    if (q.length >= 20) flush();
  }
  d.addEventListener("click", function (e) {
    var t = e.target && e.target.closest && e.target.closest("a,button");
    if (t) track("click", {
      element: t.tagName.toLowerCase(), id: t.id || undefined,
      href: t.href || undefined, text: (t.textContent || "").trim().slice(0, 80)
    });
  }, true);
  d.addEventListener("visibilitychange", function () { if (d.hidden) flush(); });
  w.addEventListener("pagehide", flush);
  setInterval(flush, 5000);
  track("pageview");
  w.clickstream = { track: track, flush: flush };
})(window, document, navigator);
