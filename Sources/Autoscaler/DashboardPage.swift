/// The dashboard: one self-contained page (inline CSS and JS; no external assets) over the
/// JSON API. `#/` lists the policies and compares them side by side over the hours they were
/// all reconciled (`api/v1/comparison`); `#/policies/{ns}/{name}` shows one, with its charts
/// drawn by the server (`DashboardCharts`, the backtest report's renderer) at the page's width.
/// It refreshes live on the server-sent `reconciled` events of `api/v1/stream`, and every
/// 30 s regardless; `?live=0` makes a static page (no stream, no timer) for screenshots and
/// printing. URLs are relative, so it also works behind `kubectl proxy` or a path-prefixing
/// ingress. When the page has drawn data it sets `body[data-state="ready"]`, which the
/// headless-Chromium test waits for.
enum DashboardPage {
    static let html = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Forescale</title>
        <style>
        :root { --bg:#f7f8fa; --card:#fff; --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --load:#2563eb;\
         --fc:#ea580c; --band:rgba(234,88,12,.16);
                --cap:#0f766e; --insvc:#94a3b8; --desired:#9333ea; --ok:#15803d; --bad:#b42318; --warn:#b54708; }
        @media (prefers-color-scheme: dark) { :root { --bg:#0f1420; --card:#171e2c; --fg:#e6e9ef; --muted:#98a2b3;\
         --line:#283244; --band:rgba(234,88,12,.22); } }
        * { box-sizing:border-box; }
        body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; background:var(--bg);\
         color:var(--fg); }
        header { display:flex; align-items:center; gap:12px; padding:12px 16px; border-bottom:1px solid var(--line);\
         background:var(--card); position:sticky; top:0; z-index:1; }
        header h1 { font-size:17px; margin:0; } header a { color:inherit; text-decoration:none; }
        #live { margin-left:auto; font-size:12px; color:var(--muted); }
        main { max-width:1200px; margin:0 auto; padding:16px; }
        .card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:14px;\
         margin-bottom:16px; overflow:hidden; }
        .card h2 { font-size:15px; margin:0 0 10px; }
        table { width:100%; border-collapse:collapse; }
        th, td { text-align:left; padding:7px 8px; border-bottom:1px solid var(--line); vertical-align:top;\
         overflow-wrap:anywhere; }
        th { font-size:12px; color:var(--muted); font-weight:600; overflow-wrap:normal; hyphens:none; }
        thead th { white-space:nowrap; }
        td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
        a.policy { color:var(--load); font-weight:600; text-decoration:none; }
        .pill { display:inline-block; padding:1px 7px; margin:1px 3px 1px 0; border-radius:999px; font-size:12px;\
         border:1px solid var(--line); white-space:nowrap; }
        .pill.ok { color:var(--ok); border-color:var(--ok); } .pill.bad { color:var(--bad); border-color:var(--bad);\
         } .pill.warn { color:var(--warn); border-color:var(--warn); }
        .grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:10px; }
        .stat { padding:8px 10px; border:1px solid var(--line); border-radius:8px; }
        .stat b { display:block; font-size:20px; font-variant-numeric:tabular-nums; } .stat span { font-size:12px;\
         color:var(--muted); }
        .chart-holder { margin:0 -4px; }
        .scroll { overflow-x:auto; }
        td.time { white-space:nowrap; font-variant-numeric:tabular-nums; }
        \(SVGChart.css)
        .muted { color:var(--muted); } .empty { color:var(--muted); padding:20px 0; text-align:center; }
        .error { color:var(--bad); }
        @media (max-width:700px) { .wide { display:none; } main { padding:10px; } th, td { padding:6px 4px; }
          #events tr, #promotions tr { display:grid; grid-template-columns:auto 1fr; border-bottom:1px solid\
         var(--line); }
          #events td, #promotions td { border-bottom:none; }
          #events td:nth-child(3), #promotions td:nth-child(3) { grid-column:1 / -1; padding-top:0; } }
        </style>
        </head>
        <body data-state="loading">
        <header><h1><a href="#/">Forescale</a></h1><span id="crumb" class="muted"></span><span id="live">\
        connecting…</span></header>
        <main id="view"><p class="empty">Loading…</p></main>
        <script>
        "use strict";
        const view = document.getElementById("view"), crumb = document.getElementById("crumb"), live =\
         document.getElementById("live");
        let liveText = "connecting…", asOf = "";
        function h(tag, attrs, ...children) {
          const el = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
          for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c :\
         String(c));
          return el;
        }
        const fmt = v => v === null || v === undefined ? "–" : (typeof v === "number" ? (Number.isInteger(v) ?\
         String(v) : v.toFixed(1)) : String(v));
        const when = t => t ? t.replace("T", " ").replace(/(\\.\\d+)?Z$/, "Z") : "–";
        async function getJSON(path) {
          const r = await fetch(path, { cache: "no-store" });
          if (!r.ok) throw new Error(path + ": HTTP " + r.status + " " + (await r.text()).slice(0, 200));
          return r.json();
        }
        function conditionPills(conditions) {
          return conditions.map(c => {
            // Fallback and ScalingLimited are abnormal when True; the others when False.
            const inverted = { Fallback: "no fallback", ScalingLimited: "within limits" };
            const good = c.type in inverted ? c.status === "False" : c.status === "True";
            const label = good ? (inverted[c.type] || c.type) : c.type + " · " + c.reason;
            return h("span", { class: "pill " + (good ? "ok" : (c.type === "ScalingLimited" ? "warn" : "bad")),\
         title: c.type + " " + c.status + ": " + c.reason + " — " + (c.message || "") }, label);
          });
        }
        function modelPill(p) {
          const m = p.model || p;
          if (p.mode === "Reactive" || m.ready === null) return h("span", { class: "pill" }, "no model");
          return h("span", { class: "pill " + (m.ready ? "ok" : "bad"), title: m.message || "" }, m.ready ?\
         (m.version ? "model " + m.version : m.reason) : m.reason);
        }

        function stamp(time) { asOf = time ? " · " + when(time) : ""; live.textContent = liveText + asOf; }
        function comparisonCard(c) {
          if (!c) return null;
          const hours = (Date.parse(c.end) - Date.parse(c.start)) / 3600000;
          const ev = c.event;
          const head = ["Policy", "Mode", "Overload intervals", "Instance-hours", "Actions"].concat(ev ? ["In\
         service at " + ev.name + " start", "Overloads during " + ev.name] : []);
          const rows = c.policies.map(r => h("tr", { "data-comparison": r.policy }, h("td", null, r.policy), h("td",\
         null, r.mode),
            h("td", { class: "num" }, fmt(r.overloadIntervals)), h("td", { class: "num" },\
         r.instanceHours.toFixed(1)), h("td", { class: "num" }, fmt(r.actions)),
            ev ? h("td", { class: "num" }, fmt(r.capacityAtEventStart)) : null, ev ? h("td", { class: "num" },\
         fmt(r.overloadsDuringEvent)) : null));
          return h("div", { class: "card" }, h("h2", null, "Side by side: the last " + hours.toFixed(1) + " h"),
            h("p", { class: "muted" }, "Overload: utilisation per instance above " + fmt(c.slo) + " %, counted per\
         reconcile. Instance-hours: the capacity set on the target." + (ev ? " " + ev.name + " began " +\
         when(ev.start) + "." : "")),
            h("div", { class: "scroll" }, h("table", { id: "comparison" }, h("thead", null, h("tr", null, head.map((x,\
         i) => h("th", { class: i > 1 ? "num" : null }, x)))), h("tbody", null, rows))));
        }

        async function renderList() {
          crumb.textContent = "policies";
          const [data, cmp] = await Promise.all([getJSON("api/v1/policies"),\
         getJSON("api/v1/comparison").catch(() => ({ comparison: null }))]);
          stamp(data.generatedAt);
          const rows = data.policies.map(p => h("tr", { "data-policy": p.namespace + "/" + p.name },
            h("td", null, h("a", { class: "policy", href: "#/policies/" + encodeURIComponent(p.namespace) + "/" +\
         encodeURIComponent(p.name) }, p.name), h("div", { class: "muted" }, p.namespace)),
            h("td", null, p.mode, p.basis && p.basis !== p.mode ? h("div", { class: "muted" }, "now: " + p.basis) :\
         null),
            h("td", { class: "wide" }, p.target.kind + "/" + p.target.name),
            h("td", { class: "num" }, fmt(p.currentCapacity) + "/" + fmt(p.desiredCapacity)),
            h("td", { class: "num wide" }, p.currentLoad === null || !p.inServiceCapacity ? "–" : (p.currentLoad /\
         p.inServiceCapacity).toFixed(0) + "%/" + fmt(p.targetUtilization) + "%"),
            h("td", null, conditionPills(p.conditions)), h("td", null, modelPill(p))));
          const table = h("table", { id: "policies" },
            h("thead", null, h("tr", null, h("th", null, "Policy"), h("th", null, "Mode"), h("th", { class: "wide" },\
         "Target"), h("th", { class: "num" }, "Replicas"),
              h("th", { class: "num wide" }, "Load/target"), h("th", null, "Conditions"), h("th", null, "Model"))),
            h("tbody", null, rows));
          const note = data.reconciling ? null : h("p", { class: "muted" }, "This replica is on standby: it shows the\
         policies' status; the leader keeps the live history.");
          view.replaceChildren(...[h("div", { class: "card" }, h("h2", null, "Scaling policies (" +\
         data.policies.length + ")"), note,
            rows.length ? h("div", { class: "scroll" }, table) : h("p", { class: "empty" }, "No ScalingPolicies yet —\
         kubectl apply one.")), comparisonCard(cmp.comparison)].filter(Boolean));
          document.body.dataset.state = "ready";
        }

        // Charts are drawn by the server (the same renderer as the backtest report) at this width.
        function chartWidth() { return Math.max(300, Math.min(1170, view.clientWidth - 30)); }
        function chartCard(c) {
          const holder = h("div", { class: "chart-holder" });
          holder.innerHTML = c.svg;  // server-rendered SVG; every text in it is escaped
          return h("div", { class: "card" }, h("h2", null, c.title), holder);
        }

        async function renderPolicy(ns, name) {
          crumb.textContent = "› " + ns + "/" + name;
          const base = "api/v1/policies/" + encodeURIComponent(ns) + "/" + encodeURIComponent(name);
          const [d, c] = await Promise.all([getJSON(base + "/history"), getJSON(base + "/charts?width=" +\
         chartWidth())]);
          const p = d.policy;
          const q = Math.round(d.forecastQuantile * 100);
          stamp(d.generatedAt);
          const m = p.model, t = d.training;
          const util = p.currentLoad !== null && p.inServiceCapacity ? p.currentLoad / p.inServiceCapacity : null;
          const stats = h("div", { class: "grid" },
            [["in service / set / desired", fmt(p.inServiceCapacity) + " / " + fmt(p.currentCapacity) + " / " +\
         fmt(p.desiredCapacity)],
             ["utilisation / target", (util === null ? "–" : util.toFixed(0) + " %") + " / " +\
         fmt(p.targetUtilization) + " %"],
             ["load (% of one instance)", fmt(p.currentLoad)],
             ["forecast p" + q + " in " + Math.round(d.leadTimeSeconds / 60) + " min", p.lastForecast ?\
         fmt(p.lastForecast.load) : "–"],
             ["p" + q + " coverage (target " + q + " %)", d.forecastCoverage === null ? "–" :\
         (d.forecastCoverage * 100).toFixed(0) + " %"],
             ["bounds (instances)", fmt(p.minCapacity) + "–" + fmt(p.maxCapacity)]]
              .map(([k, v]) => h("div", { class: "stat" }, h("b", null, v), h("span", null, k))));
          const eventRows = d.events.map(e => h("tr", null, h("td", { class: "time" }, when(e.lastTime)), h("td",\
         null, h("span", { class: "pill " + (e.type === "Warning" ? "bad" : "ok") }, e.reason)),
            h("td", null, e.message), h("td", { class: "num wide" }, "×" + fmt(e.count))));
          const promotionRows = d.promotions.map(e => h("tr", null, h("td", { class: "time" }, when(e.lastTime)),\
         h("td", null, h("span", { class: "pill " + (e.reason === "ModelPromoted" ? "ok" : "bad") }, e.reason)),\
         h("td", null, e.message)));
          const usesModel = p.mode !== "Reactive";
          const modelTable = usesModel ? h("table", { id: "model" }, h("tbody", null,
            [["health", modelPill(p)], ["artefact", m.artefact], ["version", m.version], ["created",\
         when(m.trainedAt)], ["loaded", when(m.loadedAt)],
             ["holdout MAE (load)", fmt(m.holdoutMAE)], ["seasonal-naive MAE (same holdout)", fmt(m.baselineMAE)],
             ["last training", t ? (t.promoted ? "promoted " : "rejected ") + (t.challengerVersion || "") + " — " +\
         (t.message || "") : "none recorded"]]
              .map(([k, v]) => h("tr", null, h("th", null, k), h("td", null, v ?? "–"))))) :\
         h("p", { class: "muted" }, "A Reactive policy uses no model.");
          view.replaceChildren(...[
            h("div", { class: "card" }, h("h2", null, name + " ", h("span", { class: "muted" }, p.mode + " · " +\
         p.target.kind + "/" + p.target.name)), stats,
              h("div", { style: "margin-top:10px" }, conditionPills(p.conditions))),
            ...(c.charts.length ? c.charts.map(chartCard) : [h("div", { class: "card" }, h("p", { class: "empty" },\
         "No reconciles recorded yet."))]),
            h("div", { class: "card" }, h("h2", null, "Recent Events"), eventRows.length ? h("table", { id: "events"\
         }, h("tbody", null, eventRows)) : h("p", { class: "empty" }, "No Events.")),
            h("div", { class: "card" }, h("h2", null, "Model"), modelTable),
            usesModel ? h("div", { class: "card" }, h("h2", null, "Promotion history"), promotionRows.length ?\
         h("table", { id: "promotions" }, h("tbody", null, promotionRows)) : h("p", { class: "empty" }, "No\
         training runs recorded yet.")) : null].filter(Boolean));
          document.body.dataset.state = d.samples.length ? "ready" : "waiting";
        }

        let busy = false, again = false;
        async function render() {
          if (busy) { again = true; return; }
          busy = true;
          try {
            const m = location.hash.match(/^#\\/policies\\/([^/]+)\\/([^/]+)$/);
            if (m) await renderPolicy(decodeURIComponent(m[1]), decodeURIComponent(m[2])); else await renderList();
          } catch (e) {
            view.replaceChildren(h("div", { class: "card error" }, String(e.message || e)));
            document.body.dataset.state = "error";
          } finally {
            busy = false;
            if (again) { again = false; setTimeout(render, 0); }
          }
        }
        let pending = null;
        function soon() { if (!pending) pending = setTimeout(() => { pending = null; render(); }, 1000); }
        let width = window.innerWidth;
        window.addEventListener("resize", () => { if (Math.abs(window.innerWidth - width) > 40) { width =\
         window.innerWidth; soon(); } });
        window.addEventListener("hashchange", () => { document.body.dataset.state = "loading"; render(); });
        // ?live=0: a static page (no event stream, no timer) for screenshots and printing.
        if (new URLSearchParams(location.search).get("live") === "0") {
          liveText = "static";
        } else {
          setInterval(render, 30000);
          if (window.EventSource) {
            const es = new EventSource("api/v1/stream");
            es.addEventListener("reconciled", soon);
            es.onopen = () => { liveText = "● live"; live.textContent = liveText + asOf; };
            es.onerror = () => { liveText = "refreshing every 30 s"; live.textContent = liveText + asOf; };
          } else { liveText = "refreshing every 30 s"; }
        }
        live.textContent = liveText;
        render();
        </script>
        </body>
        </html>
        """
}
