// The managers' dashboard: reads /graphql with a pasted token and draws with Chart.js.
// Nothing is embedded in the page; every figure comes from the API at run time.
"use strict";

(() => {
  const TOKEN_KEY = "accountflow.token";
  const DAY = 86400;
  const CLASSES = ["A", "B", "C", "D", null];
  const COLORS = ["#2f6fde", "#16a34a", "#d97706", "#7c3aed", "#dc2626", "#0891b2", "#db2777"];
  const charts = {};
  const $ = (selector) => document.querySelector(selector);

  const VIEWER = `query DashboardViewer { viewer { name role } pipelines { key name isDefault } }`;
  // One request per section: the server answers them side by side, and each section is
  // drawn as soon as its figures arrive.
  const RANGE = "$from: DateTime!, $to: DateTime!, $pipeline: String";
  const THROUGHPUT = `query DashboardThroughput(${RANGE}) {
      stageThroughput(from: $from, to: $to, pipeline: $pipeline) {
        stages { stage entered exited current medianSecondsInStage p90SecondsInStage conversionRate }
      }
    }`;
  const TREND = `query DashboardTrend(${RANGE}) {
      stageTrend(from: $from, to: $to, interval: WEEK, pipeline: $pipeline) {
        periodStart stage entered exited
      }
    }`;
  // Reports about people's work take the team picked (none: everyone).
  const TEAMS = `query DashboardTeams { teams { id name } }`;
  const COVERAGE = `query DashboardCoverage($filter: CoverageFilter) {
      coverageReport(groupBy: [USER, CLASSIFICATION], filter: $filter) {
        user { id name } classification assignments overdue overdueShare
      }
    }`;
  const STUCK = `query DashboardStuck($pipeline: String, $stuckDays: Int!, $teamId: ID) {
      stuckEntries(pipeline: $pipeline, olderThanDays: $stuckDays, first: 20, teamId: $teamId) {
        totalCount
        edges { node { stage secondsInStage account { id name } owner { name } } }
      }
    }`;
  const LEADS = `
    query DashboardLeadSources($from: DateTime!, $to: DateTime!) {
      leadSourceReport(from: $from, to: $to) { source leads converted conversionRate }
    }`;

  class ApiError extends Error {
    constructor(kind, message) {
      super(message);
      this.kind = kind;
    }
  }

  async function gql(query, variables) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    if (response.status === 401) {
      throw new ApiError("unauthorized", "The token was refused: it is wrong or has been revoked.");
    }
    if (!response.ok) throw new ApiError("http", `The server answered ${response.status}.`);
    const body = await response.json();
    const errors = body.errors || [];
    if (errors.length) {
      const codes = errors.map((e) => (e.extensions || {}).code);
      if (codes.includes("FORBIDDEN")) throw new ApiError("forbidden", errors[0].message);
      if (errors.some((e) => /Cannot query field/.test(e.message))) {
        throw new ApiError("unsupported", errors[0].message);
      }
      throw new ApiError("graphql", errors[0].message);
    }
    return body.data;
  }

  // --- messages -------------------------------------------------------------------

  function say(text, kind = "info") {
    const box = $("#message");
    box.textContent = text;
    box.className = kind === "error" ? "message error" : "message";
    box.dataset.kind = kind;
    box.hidden = !text;
  }

  function explain(error) {
    $("#reports").hidden = true;
    if (error.kind === "unauthorized") {
      sessionStorage.removeItem(TOKEN_KEY);
      say("Wrong token: the server did not accept it (mistyped, revoked or from another " +
          "installation). Paste a valid token above.", "unauthorized");
    } else if (error.kind === "forbidden") {
      say("Forbidden: this token's user may not read reports. Reports are for managers " +
          "and admins; ask one for a token.", "forbidden");
    } else {
      say(`The reports could not be loaded: ${error.message}`, "error");
    }
  }

  // --- helpers --------------------------------------------------------------------

  const days = (seconds) => (seconds == null ? "–" : (seconds / DAY).toFixed(1));
  const percent = (rate) => (rate == null ? "–" : `${Math.round(rate * 100)}%`);

  function cell(text, metric, value) {
    const td = document.createElement("td");
    td.textContent = text;
    if (metric) td.dataset.metric = metric;
    if (value !== undefined) td.dataset.value = value == null ? "" : String(value);
    return td;
  }

  function fillRows(section, rows) {
    const body = section.querySelector("tbody");
    body.replaceChildren(...rows);
  }

  function row(key, cells) {
    const tr = document.createElement("tr");
    tr.dataset.key = key;
    tr.append(...cells);
    return tr;
  }

  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign(
      { animation: false, responsive: true, maintainAspectRatio: false },
      config.options || {}
    );
    charts[id] = new window.Chart(document.getElementById(id), config);
  }

  function done(section, empty, emptyText) {
    let note = section.querySelector(".empty");
    if (empty) {
      if (!note) {
        note = document.createElement("p");
        note.className = "empty";
        section.querySelector("h2").after(note);
      }
      note.textContent = emptyText;
    } else if (note) {
      note.remove();
    }
    section.dataset.state = empty ? "empty" : "ready";
  }

  // --- sections -------------------------------------------------------------------

  function renderFunnel(stages) {
    const section = $("#funnel");
    fillRows(section, stages.map((s) => row(s.stage, [
      cell(s.stage),
      cell(String(s.current), "current", s.current),
      cell(String(s.entered), "entered", s.entered),
      cell(String(s.exited), "exited", s.exited),
      cell(percent(s.conversionRate), "conversion", s.conversionRate),
    ])));
    draw("funnel-chart", {
      data: {
        labels: stages.map((s) => s.stage),
        datasets: [
          { type: "bar", label: "Entries now", data: stages.map((s) => s.current),
            backgroundColor: COLORS[0], yAxisID: "y" },
          { type: "line", label: "Conversion to a later stage (%)",
            data: stages.map((s) => (s.conversionRate == null ? null : s.conversionRate * 100)),
            borderColor: COLORS[2], backgroundColor: COLORS[2], yAxisID: "y1" },
        ],
      },
      options: {
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "entries" } },
          y1: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
                title: { display: true, text: "%" } },
        },
      },
    });
    const empty = stages.every((s) => s.current === 0 && s.entered === 0);
    done(section, empty, "No pipeline entries yet.");
  }

  function renderTimeInStage(stages) {
    const section = $("#time-in-stage");
    fillRows(section, stages.map((s) => row(s.stage, [
      cell(s.stage),
      cell(days(s.medianSecondsInStage), "median", s.medianSecondsInStage),
      cell(days(s.p90SecondsInStage), "p90", s.p90SecondsInStage),
    ])));
    const inDays = (v) => (v == null ? null : v / DAY);
    draw("time-chart", {
      type: "bar",
      data: {
        labels: stages.map((s) => s.stage),
        datasets: [
          { label: "Median (days)", data: stages.map((s) => inDays(s.medianSecondsInStage)),
            backgroundColor: COLORS[0] },
          { label: "90th percentile (days)", data: stages.map((s) => inDays(s.p90SecondsInStage)),
            backgroundColor: COLORS[3] },
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
    const empty = stages.every((s) => s.medianSecondsInStage == null);
    done(section, empty, "No stage was left in this range.");
  }

  function renderTrend(rows) {
    const section = $("#trend");
    const weeks = [...new Set(rows.map((r) => r.periodStart))];
    const stages = [...new Set(rows.map((r) => r.stage))];
    const totals = weeks.map((week) => {
      const inWeek = rows.filter((r) => r.periodStart === week);
      return {
        week,
        entered: inWeek.reduce((n, r) => n + r.entered, 0),
        exited: inWeek.reduce((n, r) => n + r.exited, 0),
      };
    });
    fillRows(section, totals.map((t) => row(t.week, [
      cell(t.week.slice(0, 10)),
      cell(String(t.entered), "entered", t.entered),
      cell(String(t.exited), "exited", t.exited),
    ])));
    draw("trend-chart", {
      type: "line",
      data: {
        labels: weeks.map((w) => w.slice(0, 10)),
        datasets: stages.map((stage, i) => ({
          label: `Entered ${stage}`,
          data: weeks.map((w) => rows.find((r) => r.periodStart === w && r.stage === stage).entered),
          borderColor: COLORS[i % COLORS.length],
          backgroundColor: COLORS[i % COLORS.length],
          tension: 0.2,
        })),
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
    done(section, totals.every((t) => t.entered === 0 && t.exited === 0),
         "No stage moves in this range.");
  }

  function heat(share) {
    // White for none overdue to red for all of them.
    const g = Math.round(255 - 155 * share);
    return `rgb(255, ${g}, ${g})`;
  }

  function renderCoverage(rows) {
    const section = $("#coverage");
    const users = new Map();
    for (const r of rows) {
      const key = r.user ? r.user.id : "";
      if (!users.has(key)) users.set(key, { name: r.user ? r.user.name : "(nobody)", cells: {} });
      users.get(key).cells[r.classification ?? "NONE"] = r;
    }
    const head = document.createElement("tr");
    head.append(...["Rep", ...CLASSES.map((c) => c ?? "Unclassified")].map((text) => {
      const th = document.createElement("th");
      th.textContent = text;
      return th;
    }));
    section.querySelector("thead").replaceChildren(head);
    const sorted = [...users.entries()].sort((a, b) => a[1].name.localeCompare(b[1].name));
    fillRows(section, sorted.map(([id, user]) => row(id, [
      cell(user.name),
      ...CLASSES.map((c) => {
        const found = user.cells[c ?? "NONE"];
        if (!found) {
          const td = cell("–");
          td.className = "none";
          return td;
        }
        const td = cell(percent(found.overdueShare), `overdue-${c ?? "NONE"}`, found.overdueShare);
        td.title = `${found.overdue} of ${found.assignments} assignments overdue`;
        td.style.background = heat(found.overdueShare);
        return td;
      }),
    ])));
    done(section, rows.length === 0, "No assignments yet: nobody covers an account.");
  }

  function renderStuck(stuck) {
    const section = $("#stuck");
    const nodes = stuck.edges.map((e) => e.node);
    section.querySelector(".total").textContent =
      `${stuck.totalCount} entries stuck; the ${nodes.length} longest:`;
    section.querySelector(".total").dataset.value = String(stuck.totalCount);
    fillRows(section, nodes.map((n) => row(n.account.id, [
      cell(n.account.name),
      cell(n.stage, "stage", n.stage),
      cell(n.owner ? n.owner.name : "–"),
      cell(days(n.secondsInStage), "days", n.secondsInStage),
    ])));
    done(section, stuck.totalCount === 0, "No entry has sat in an open stage that long.");
  }

  function renderLeadSources(rows) {
    const section = $("#lead-sources");
    section.hidden = false;
    fillRows(section, rows.map((r) => row(r.source ?? "NONE", [
      cell(r.source ?? "Unknown"),
      cell(String(r.leads), "leads", r.leads),
      cell(String(r.converted), "converted", r.converted),
      cell(percent(r.conversionRate), "conversion", r.conversionRate),
    ])));
    draw("lead-chart", {
      type: "bar",
      data: {
        labels: rows.map((r) => r.source ?? "Unknown"),
        datasets: [
          { label: "Leads", data: rows.map((r) => r.leads), backgroundColor: COLORS[0] },
          { label: "Converted", data: rows.map((r) => r.converted), backgroundColor: COLORS[1] },
        ],
      },
      options: { scales: { y: { beginAtZero: true } } },
    });
    done(section, rows.length === 0, "No leads in this range.");
  }

  // --- loading --------------------------------------------------------------------

  function range() {
    const from = `${$("#from").value}T00:00:00Z`;
    const to = new Date(`${$("#to").value}T00:00:00Z`);
    to.setUTCDate(to.getUTCDate() + 1);
    return { from, to: to.toISOString() };
  }

  async function loadLeadSources(variables) {
    try {
      const data = await gql(LEADS, variables);
      renderLeadSources(data.leadSourceReport);
    } catch (error) {
      // Lead sources exist only where the leads feature is installed: hide the section.
      $("#lead-sources").hidden = true;
      $("#lead-sources").dataset.state = error.kind === "unsupported" ? "absent" : "failed";
    }
  }

  async function load() {
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      $("#reports").hidden = true;
      say("Paste a manager's or admin's API token above to see the reports.", "token");
      document.body.dataset.state = "done";
      return;
    }
    document.body.dataset.state = "loading";
    say("Loading…");
    try {
      const who = await gql(VIEWER, {});
      $("#viewer").textContent = `${who.viewer.name} · ${who.viewer.role}`;
      if (!["MANAGER", "ADMIN"].includes(who.viewer.role)) {
        throw new ApiError("forbidden", "role");
      }
      fillPipelines(who.pipelines);
      await loadTeams();
      const { from, to } = range();
      const variables = {
        from, to, pipeline: $("#pipeline").value, stuckDays: Number($("#stuck-days").value || 0),
      };
      const { pipeline, stuckDays } = variables;
      const teamId = $("#team").value || null;
      showTeam();
      $("#reports").hidden = false;
      for (const id of ["funnel", "time-in-stage", "trend", "coverage", "stuck"]) {
        document.getElementById(id).dataset.state = "loading";
      }
      const [throughput, , coverage] = await Promise.all([
        gql(THROUGHPUT, { from, to, pipeline }).then((data) => {
          renderFunnel(data.stageThroughput.stages);
          renderTimeInStage(data.stageThroughput.stages);
          return data;
        }),
        gql(TREND, { from, to, pipeline }).then((data) => renderTrend(data.stageTrend)),
        gql(COVERAGE, { filter: teamId ? { teamId } : null }).then((data) => {
          renderCoverage(data.coverageReport);
          return data;
        }),
        gql(STUCK, { pipeline, stuckDays, teamId }).then((data) => renderStuck(data.stuckEntries)),
        loadLeadSources({ from, to }),
      ]);
      const stages = throughput.stageThroughput.stages;
      const nothing = stages.every((s) => s.current === 0 && s.entered === 0) &&
        coverage.coverageReport.length === 0;
      if (nothing) {
        say("The database is empty: no pipeline entries and no assignments yet. Load the demo " +
            "data with `accountflow seed-demo`, or start by creating accounts.", "empty");
      } else {
        say("");
      }
    } catch (error) {
      explain(error);
    } finally {
      document.body.dataset.state = "done";
    }
  }

  async function loadTeams() {
    const picker = $("#team-picker");
    if (picker.dataset.state === "ready") return;
    try {
      const data = await gql(TEAMS, {});
      fillTeams(data.teams);
      picker.hidden = false;
      picker.dataset.state = "ready";
    } catch (error) {
      // Teams exist only where the teams feature is installed: no picker then.
      picker.hidden = true;
      picker.dataset.state = error.kind === "unsupported" ? "absent" : "failed";
    }
  }

  function fillTeams(teams) {
    const select = $("#team");
    const everyone = document.createElement("option");
    everyone.value = "";
    everyone.textContent = "Everyone";
    const sorted = [...teams].sort((a, b) => a.name.localeCompare(b.name));
    select.replaceChildren(everyone, ...sorted.map((t) => {
      const option = document.createElement("option");
      option.value = t.id;
      option.textContent = t.name;
      return option;
    }));
  }

  function showTeam() {
    const select = $("#team");
    const chosen = select.value ? select.options[select.selectedIndex].textContent : "";
    for (const note of document.querySelectorAll(".team-note")) {
      note.textContent = chosen ? `team ${chosen}` : "";
    }
  }

  function fillPipelines(pipelines) {
    const select = $("#pipeline");
    const current = select.value;
    select.replaceChildren(...pipelines.map((p) => {
      const option = document.createElement("option");
      option.value = p.key;
      option.textContent = p.name;
      return option;
    }));
    const keep = pipelines.find((p) => p.key === current) || pipelines.find((p) => p.isDefault);
    if (keep) select.value = keep.key;
  }

  function start() {
    const today = new Date();
    const before = new Date(today.getTime() - 90 * DAY * 1000);
    $("#to").value = today.toISOString().slice(0, 10);
    $("#from").value = before.toISOString().slice(0, 10);
    $("#token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const token = $("#token").value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      $("#token").value = "";
      load();
    });
    $("#forget").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      $("#viewer").textContent = "";
      load();
    });
    $("#filters").addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    load();
  }

  start();
})();
