/// The dashboard: one self-contained page (inline CSS, JS and SVG; no external assets) over
/// the JSON API. `#/` lists the policies; `#/policies/{ns}/{name}` charts one. It refreshes
/// live on the server-sent `reconciled` events of `api/v1/stream`, and every 30 s regardless.
/// URLs are relative, so it also works behind `kubectl proxy` or a path-prefixing ingress.
/// When the page has drawn data it sets `body[data-state="ready"]` and each chart's
/// `data-points`, which the headless-Chromium test waits for.
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
        th { font-size:12px; color:var(--muted); font-weight:600; }
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
        svg.chart { width:100%; height:auto; display:block; }
        svg.chart text { fill:var(--muted); font-size:11px; }
        svg.chart .grid line { stroke:var(--line); }
        .legend { display:flex; flex-wrap:wrap; gap:12px; font-size:12px; color:var(--muted); margin-top:6px; }
        .legend i { display:inline-block; width:14px; height:3px; margin-right:5px; vertical-align:middle; }
        .muted { color:var(--muted); } .empty { color:var(--muted); padding:20px 0; text-align:center; }
        .error { color:var(--bad); }
        @media (max-width:700px) { .wide { display:none; } main { padding:10px; } th, td { padding:6px 4px; } }
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
        const SVGNS = "http://www.w3.org/2000/svg";
        function h(tag, attrs, ...children) {
          const el = document.createElement(tag);
          for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
          for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c :\
         String(c));
          return el;
        }
        function s(tag, attrs) { const el = document.createElementNS(SVGNS, tag); for (const [k, v] of\
         Object.entries(attrs || {})) el.setAttribute(k, v); return el; }
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
        function modelPill(m) {
          if (m.ready === null) return h("span", { class: "pill" }, "no model");
          return h("span", { class: "pill " + (m.ready ? "ok" : "bad"), title: m.message || "" }, m.ready ?\
         (m.version ? "model " + m.version : m.reason) : m.reason);
        }

        async function renderList() {
          crumb.textContent = "policies";
          const data = await getJSON("api/v1/policies");
          const rows = data.policies.map(p => h("tr", { "data-policy": p.namespace + "/" + p.name },
            h("td", null, h("a", { class: "policy", href: "#/policies/" + encodeURIComponent(p.namespace) + "/" +\
         encodeURIComponent(p.name) }, p.name), h("div", { class: "muted" }, p.namespace)),
            h("td", null, p.mode, p.basis && p.basis !== p.mode ? h("div", { class: "muted" }, "now: " + p.basis) :\
         null),
            h("td", { class: "wide" }, p.target.kind, h("div", { class: "muted" }, p.target.name)),
            h("td", { class: "num" }, fmt(p.currentCapacity)), h("td", { class: "num" }, fmt(p.desiredCapacity)),
            h("td", { class: "num wide" }, fmt(p.currentLoad)),
            h("td", null, conditionPills(p.conditions)), h("td", null, modelPill(p.model))));
          const table = h("table", { id: "policies" },
            h("thead", null, h("tr", null, h("th", null, "Policy"), h("th", null, "Mode"), h("th", { class: "wide" },\
         "Target"), h("th", { class: "num" }, "Current"),
              h("th", { class: "num" }, "Desired"), h("th", { class: "num wide" }, "Load"), h("th", null,\
         "Conditions"), h("th", null, "Model"))),
            h("tbody", null, rows));
          const note = data.reconciling ? null : h("p", { class: "muted" }, "This replica is on standby: it shows the\
         policies' status; the leader keeps the live history.");
          view.replaceChildren(h("div", { class: "card" }, h("h2", null, "Scaling policies (" + data.policies.length\
         + ")"), note,
            rows.length ? table : h("p", { class: "empty" }, "No ScalingPolicies yet — kubectl apply one.")));
          document.body.dataset.state = "ready";
        }

        // A time-series chart: lines, steps and a band on a shared time axis, with markers.
        function chart(id, series, opts) {
          // Drawn at the card's width, so text keeps its size on a phone.
          const W = Math.max(300, Math.min(1170, view.clientWidth - 60)), H = Math.round((opts.height || 300) * (W <\
         600 ? 0.8 : 1)), L = 44, R = 12, T = 12, B = 26;
          const svg = s("svg", { id, class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label });
          const pts = series.flatMap(x => x.points.flatMap(p => x.kind === "band" ? [[p[0], p[1]], [p[0], p[2]]] :\
         [p])).filter(p => p[1] !== null && !Number.isNaN(p[0]));
          svg.dataset.points = String(series.filter(x => x.kind !== "band").reduce((n, x) => n + x.points.filter(p =>\
         p[1] !== null).length, 0));
          if (!pts.length) { svg.append(Object.assign(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }), {\
         textContent: "no data yet" })); return svg; }
          let t0 = Math.min(...pts.map(p => p[0])), t1 = Math.max(...pts.map(p => p[0])); if (t1 === t0) t1 = t0 +\
         60000;
          let y1 = Math.max(...pts.map(p => p[1]), opts.minTop || 0) * 1.08; if (y1 <= 0) y1 = 1;
          if (opts.integer) y1 = Math.ceil(y1 / 4) * 4;  // whole-number ticks for instance counts
          const x = t => L + (t - t0) / (t1 - t0) * (W - L - R), y = v => T + (1 - v / y1) * (H - T - B);
          const grid = s("g", { class: "grid" });
          for (let i = 0; i <= 4; i++) {
            const v = y1 * i / 4; grid.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v) }));
            grid.append(Object.assign(s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }), { textContent: v >=\
         10 ? v.toFixed(0) : v.toFixed(1) }));
          }
          const ticks = W < 600 ? 3 : 5;
          for (let i = 0; i <= ticks; i++) {
            const t = t0 + (t1 - t0) * i / ticks, d = new Date(t);
            grid.append(Object.assign(s("text", { x: x(t), y: H - 8, "text-anchor": i === 0 ? "start" : i === ticks ?\
         "end" : "middle" }), { textContent: d.toISOString().slice(11, 16) }));
          }
          svg.append(grid);
          for (const ser of series) {
            const p = ser.points.filter(q => q[1] !== null);
            if (!p.length) continue;
            if (ser.kind === "band") {
              const upper = p.map(q => `${x(q[0]).toFixed(1)},${y(q[2]).toFixed(1)}`), lower =\
         p.slice().reverse().map(q => `${x(q[0]).toFixed(1)},${y(q[1]).toFixed(1)}`);
              svg.append(s("polygon", { points: upper.concat(lower).join(" "), fill: ser.color, "data-series":\
         ser.name }));
              continue;
            }
            let d = "";
            p.forEach((q, i) => {
              const X = x(q[0]).toFixed(1), Y = y(q[1]).toFixed(1);
              if (i === 0) d += `M${X},${Y}`; else if (ser.kind === "step") d += `H${X}V${Y}`; else d += `L${X},${Y}`;
            });
            svg.append(s("path", { d, fill: "none", stroke: ser.color, "stroke-width": ser.width || 2,\
         "stroke-dasharray": ser.dash || "none", "data-series": ser.name }));
          }
          for (const m of opts.markers || []) {
            const X = x(m.time), up = m.to > m.from, Y = y(m.to);
            const mark = s("path", { d: up ? `M${X - 5},${Y + 9}L${X + 5},${Y + 9}L${X},${Y}Z` : `M${X - 5},${Y -\
         9}L${X + 5},${Y - 9}L${X},${Y}Z`, fill: up ? "var(--ok)" : "var(--bad)", class: "action" });
            mark.append(Object.assign(s("title"), { textContent: `${when(new Date(m.time).toISOString())}: ${m.from}\
         → ${m.to} (${m.reason})` }));
            svg.append(mark);
          }
          return svg;
        }
        function legend(items) { return h("div", { class: "legend" }, items.map(([c, t]) => h("span", null, h("i", {\
         style: "background:" + c }), t))); }

        async function renderPolicy(ns, name) {
          crumb.textContent = "› " + ns + "/" + name;
          const d = await getJSON("api/v1/policies/" + encodeURIComponent(ns) + "/" + encodeURIComponent(name) +\
         "/history");
          const p = d.policy, ms = t => Date.parse(t);
          const q = Math.round(d.forecastQuantile * 100);
          const load = chart("load-chart", [
            { name: "band", kind: "band", color: "var(--band)", points: d.samples.filter(x => x.forecastTime && x.low\
         !== null).map(x => [ms(x.forecastTime), x.low, x.high]) },
            { name: "load", color: "var(--load)", points: d.samples.map(x => [ms(x.time), x.load]) },
            { name: "forecast", color: "var(--fc)", dash: "6 4", points: d.samples.filter(x => x.forecastTime).map(x\
         => [ms(x.forecastTime), x.forecast]) },
          ], { label: "load and forecast" });
          const capacity = chart("capacity-chart", [
            { name: "inService", kind: "step", color: "var(--insvc)", width: 6, points: d.samples.map(x =>\
         [ms(x.time), x.inServiceCapacity]) },
            { name: "current", kind: "step", color: "var(--cap)", points: d.samples.map(x => [ms(x.time),\
         x.currentCapacity]) },
            { name: "desired", kind: "step", color: "var(--desired)", dash: "4 3", points: d.samples.map(x =>\
         [ms(x.time), x.desiredCapacity]) },
          ], { label: "capacity", height: 220, integer: true, minTop: p.maxCapacity || 1, markers: d.actions.map(a =>\
         ({ time: ms(a.time), from: a.from, to: a.to, reason: a.reason })) });
          const m = p.model, t = d.training;
          const stats = h("div", { class: "grid" },
            [["current capacity", p.currentCapacity], ["in service", p.inServiceCapacity], ["desired",\
         p.desiredCapacity], ["load", p.currentLoad],
             ["forecast p" + q, p.lastForecast ? p.lastForecast.load : null], ["bounds", fmt(p.minCapacity) + "–" +\
         fmt(p.maxCapacity)]]
              .map(([k, v]) => h("div", { class: "stat" }, h("b", null, fmt(v)), h("span", null, k))));
          const eventRows = d.events.map(e => h("tr", null, h("td", null, when(e.lastTime)), h("td", null, h("span",\
         { class: "pill " + (e.type === "Warning" ? "bad" : "ok") }, e.reason)),
            h("td", null, e.message), h("td", { class: "num wide" }, fmt(e.count))));
          const promotionRows = d.promotions.map(e => h("tr", null, h("td", null, when(e.lastTime)), h("td", null,\
         h("span", { class: "pill " + (e.reason === "ModelPromoted" ? "ok" : "bad") }, e.reason)), h("td", null,\
         e.message)));
          const modelTable = h("table", { id: "model" }, h("tbody", null,
            [["health", modelPill(m)], ["artefact", m.artefact], ["version", m.version], ["trained on data up to",\
         when(m.trainedAt)], ["loaded", when(m.loadedAt)],
             ["holdout MAE", fmt(m.holdoutMAE)], ["seasonal-naive MAE", fmt(m.baselineMAE)],
             ["last training", t ? (t.promoted ? "promoted " : "rejected ") + (t.challengerVersion || "") + " — " +\
         (t.message || "") : "none recorded"]]
              .map(([k, v]) => h("tr", null, h("th", null, k), h("td", null, v ?? "–")))));
          view.replaceChildren(
            h("div", { class: "card" }, h("h2", null, name + " ", h("span", { class: "muted" }, p.mode + " · " +\
         p.target.kind + " " + p.target.name)), stats,
              h("div", { style: "margin-top:10px" }, conditionPills(p.conditions))),
            h("div", { class: "card" }, h("h2", null, "Load: actual vs. forecast"), load,
              legend([["var(--load)", "actual load"], ["var(--fc)", "forecast p" + q + " made " +\
         Math.round(d.leadTimeSeconds / 60) + " min earlier"], ["var(--band)", "forecast band (model quantiles)"]])),
            h("div", { class: "card" }, h("h2", null, "Capacity"), capacity,
              legend([["var(--cap)", "current"], ["var(--insvc)", "in service"], ["var(--desired)", "desired"],\
         ["var(--ok)", "scale-up"], ["var(--bad)", "scale-down"]])),
            h("div", { class: "card" }, h("h2", null, "Recent Events"), eventRows.length ? h("table", { id: "events"\
         }, h("tbody", null, eventRows)) : h("p", { class: "empty" }, "No Events.")),
            h("div", { class: "card" }, h("h2", null, "Model"), modelTable),
            h("div", { class: "card" }, h("h2", null, "Promotion history"), promotionRows.length ? h("table", { id:\
         "promotions" }, h("tbody", null, promotionRows)) : h("p", { class: "empty" }, "No training runs recorded\
         yet.")));
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
        setInterval(render, 30000);
        if (window.EventSource) {
          const es = new EventSource("api/v1/stream");
          es.addEventListener("reconciled", soon);
          es.onopen = () => { live.textContent = "● live"; };
          es.onerror = () => { live.textContent = "refreshing every 30 s"; };
        } else { live.textContent = "refreshing every 30 s"; }
        render();
        </script>
        </body>
        </html>
        """
}
