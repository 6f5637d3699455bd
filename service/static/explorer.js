// netweave explorer: draws /v1/analytics/layout on a canvas, with filters, a member panel and network health.
// Plain browser JavaScript, no libraries; every text from the API is set with textContent, never as HTML.
"use strict";

(function () {
  const KEY_STORAGE = "netweave.key";
  const BROKER = "#111111", ARTICULATION = "#d62728";
  // Colours come with the layout (`palette`: the pictures' colours, in rank order, and the one for the rest),
  // so the explorer, the pictures and the exports colour a cluster alike; grey until the first layout.
  let PALETTE = [], OTHER = "#a0a4a8";
  // Each metric with a one-line explanation for people who are not network analysts.
  const HEALTH_METRICS = [
    ["members", "members", "people in the network (with the filters above)"],
    ["ties", "ties", "pairs of members who work together"],
    ["density", "density", "share of all possible pairs that are tied, from 0 to 1"],
    ["average_degree", "average degree", "ties per member, on average"],
    ["components", "components", "groups with no path between them; 1 means everyone is reachable"],
    ["largest_component_share", "largest component", "share of members in the biggest connected group"],
    ["isolates", "isolates", "members with no ties yet"],
    ["transitivity", "transitivity", "how often two contacts of a member know each other too"],
    ["average_clustering", "average clustering", "the same, member by member, averaged"],
    ["degree_centralization", "degree centralization", "0: ties spread evenly; 1: everything goes through one member"],
    ["modularity", "modularity", "how clearly the network splits into clusters; above 0.3 is clear"],
    ["ei_index.organization", "E-I across organizations", "-1: all ties inside organizations; +1: all across them"],
    ["ei_index.region", "E-I across regions", "-1: all ties inside regions; +1: all across them"],
    ["average_shortest_path", "average path length", "steps between two connected members, on average"]];
  const SUGGESTED = "#e8590c";
  const TREND_METRICS = ["members", "ties", "density", "modularity"];

  const $ = (id) => document.getElementById(id);
  const canvas = $("network");
  const context = canvas.getContext("2d");
  const state = { layout: null, view: { scale: 1, x: 0, y: 0 }, selected: -1, suggested: [], sizeBy: "degree",
                  filtersFilled: false, generation: 0, vocabularies: null };

  // --- the API key: sessionStorage, or once from the URL fragment (#key=...), which is then removed ---

  function takeKeyFromFragment() {
    const match = /(?:^#|&)key=([^&]+)/.exec(window.location.hash);
    if (match) {
      sessionStorage.setItem(KEY_STORAGE, decodeURIComponent(match[1]));
      history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  }

  function key() { return sessionStorage.getItem(KEY_STORAGE); }

  function askForKey(message) {
    $("key-form").hidden = false;
    $("forget-key").hidden = true;
    setStatus(message || "Enter an API key to load the network.", Boolean(message));
    document.body.dataset.state = "needs-key";
  }

  // --- calls ------------------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || ("HTTP " + status));
      this.status = status;
    }
  }

  async function api(path, attempts) {
    const response = await fetch(path, { headers: { "Authorization": "Bearer " + key(), "Accept": "application/json" },
                                          cache: "no-store" });
    if (response.status === 202 && (attempts || 0) < 120) {
      setStatus("computing on the server...");  // a background analytics run: ask again shortly
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return api(path, (attempts || 0) + 1);
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  function query(params) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
    const text = search.toString();
    return text ? "?" + text : "";
  }

  function filters() {
    return { organization_id: $("filter-organization").value, region: $("filter-region").value,
             role: $("filter-role").value, topic: $("filter-topic").value, as_of: $("filter-as-of").value,
             view: $("view").value };
  }

  function setStatus(text, isError) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function failed(error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      if (error.status === 401) sessionStorage.removeItem(KEY_STORAGE);
      askForKey("The key was refused: " + error.message);
    } else {
      setStatus("Could not load: " + error.message, true);
      document.body.dataset.state = "error";
    }
  }

  // --- vocabulary labels: what people read for a stored value (member_role "instructional_coach" is
  // "Instructional Coach") ------------------------------------------------------------------------------

  const termLabels = new Map();   // vocabulary name -> Map(value -> label)

  // Every vocabulary in one request (GET /v1/vocabularies, scope `read`), once per key. Without them (a key
  // without `read`, a server that does not answer) the page shows the stored values instead.
  async function loadVocabularies() {
    termLabels.clear();
    try {
      const answer = await api("/v1/vocabularies");
      for (const vocabulary of answer.items) {
        termLabels.set(vocabulary.name, new Map(vocabulary.values.map((term) => [term.value, term.label])));
      }
      document.body.dataset.vocabularies = "loaded";
    } catch (error) {
      document.body.dataset.vocabularies = "unavailable";
    }
  }

  // The label of `value` in `vocabulary`, else the value itself with spaces for underscores.
  function termLabel(vocabulary, value) {
    if (value === null || value === undefined || value === "") return value;
    const terms = termLabels.get(vocabulary);
    return (terms && terms.get(value)) || String(value).replace(/_/g, " ");
  }

  // How a category of a colour or highlight field reads: a role by its label, anything else with spaces for
  // underscores.
  function categoryText(field, category) {
    return field === "role" ? termLabel("member_role", category) : category.replace(/_/g, " ");
  }

  // --- loading ----------------------------------------------------------------------------------------

  async function loadAll() {
    $("key-form").hidden = true;
    $("forget-key").hidden = false;
    document.body.dataset.state = "loading";
    // The layout waits for the labels (its filters and legend show them); the other calls do not.
    state.vocabularies = loadVocabularies();
    try {
      // Alerts after the layout: one about a member on the map links to it.
      await Promise.all([loadLayout(true).then(loadAlerts), loadHealth(), loadOrganizations()]);
      document.body.dataset.state = "ready";
    } catch (error) {
      failed(error);
    }
  }

  async function reload() {
    document.body.dataset.state = "loading";
    try {
      await Promise.all([loadLayout(false).then(loadAlerts), loadHealth()]);
      document.body.dataset.state = "ready";
    } catch (error) {
      failed(error);
    }
  }

  async function loadLayout(fit) {
    const generation = ++state.generation;
    setStatus("loading the network...");
    // With the members' custom attributes (each network's own fields), to colour and highlight by.
    const [layout] = await Promise.all([api("/v1/analytics/layout" + query({ ...filters(), attributes: "true" })),
                                        state.vocabularies]);
    if (generation !== state.generation) return;  // a newer filter answered first
    state.layout = layout;
    PALETTE = layout.palette.colours;
    OTHER = layout.palette.other;
    state.selected = -1;
    state.suggested = [];
    clearPanel();
    fillFilterChoices(layout);
    fillAttributeChoices(layout);
    fillSearchChoices(layout);
    renderLegend();     // first: Fit keeps the drawing clear of the legend
    if (fit) fitView();
    draw();
    const shown = layout.view === "members" ? layout.members_shown + " of " + layout.members_total + " members"
                                            : layout.clusters.id.length + " clusters holding " + layout.members_shown +
                                              " of " + layout.members_total + " members";
    setStatus(shown + " (as of " + layout.computed.as_of + ")");
  }

  async function loadOrganizations() {
    const select = $("filter-organization");
    let cursor = null;
    for (let pages = 0; pages < 20; pages++) {
      const page = await api("/v1/organizations" + query({ limit: 100, cursor: cursor }));
      for (const organization of page.items) {
        const option = document.createElement("option");
        option.value = organization.id;
        option.textContent = organization.name;
        select.appendChild(option);
      }
      cursor = page.next_cursor;
      if (!cursor) break;
    }
  }

  function fillFilterChoices(layout) {
    // The layout lists the whole network's regions and roles, so a filter never hides its own choices.
    if (state.filtersFilled) return;
    state.filtersFilled = true;
    // Each option sends the stored value; a role reads as its label.
    const roleText = (value) => termLabel("member_role", value), asStored = (value) => value.replace(/_/g, " ");
    for (const [id, values, text] of [["filter-region", layout.regions, asStored],
                                      ["filter-role", layout.roles, roleText],
                                      ["filter-topic", layout.topics || [], asStored]]) {
      const select = $(id);
      for (const value of values) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = text(value);
        select.appendChild(option);
      }
    }
  }

  // --- find a member by name ------------------------------------------------------------------------------

  function fillSearchChoices(layout) {
    const list = $("member-names"), names = layout.view === "members" ? layout.members.name : [];
    list.replaceChildren(...[...new Set(names.filter(Boolean))].sort().map((name) => {
      const option = document.createElement("option");
      option.value = name;
      return option;
    }));
    $("search").disabled = layout.view !== "members";
    $("search").title = layout.view === "members" ? "" : "search works when members are drawn one by one";
  }

  // The shown member whose name is the text (any case), else the first whose name contains it; -1 if none.
  function findMember(text) {
    const wanted = text.trim().toLowerCase(), names = state.layout ? state.layout.members.name : [];
    if (!wanted) return -1;
    const exact = names.findIndex((name) => (name || "").toLowerCase() === wanted);
    return exact >= 0 ? exact : names.findIndex((name) => (name || "").toLowerCase().includes(wanted));
  }

  function centreOn(index) {
    const box = canvas.getBoundingClientRect(), members = state.layout.members;
    state.view.x = box.width / 2 - members.x[index] * state.view.scale;
    state.view.y = box.height / 2 - members.y[index] * state.view.scale;
  }

  // --- colour and highlight by a field: role, region, or a custom member attribute ("attr:NAME") -----------

  function fillAttributeChoices(layout) {
    const fields = (layout.members && layout.members.attributes) || {};
    for (const id of ["colour-by", "highlight-field"]) {
      const select = $(id), chosen = select.value;
      for (const option of [...select.options]) if (option.value.startsWith("attr:")) option.remove();
      for (const [name, field] of Object.entries(fields)) {
        const option = document.createElement("option");
        option.value = "attr:" + name;
        option.textContent = field.label || name;
        select.appendChild(option);
      }
      select.value = [...select.options].some((o) => o.value === chosen) ? chosen : select.options[0].value;
    }
    fillHighlightValues();
  }

  // The category of member i under `field`: a text, or null when unset. Numbers fall in five equal ranges
  // of the values shown; a tags field counts by its first tag.
  function categories(field) {
    const members = state.layout && state.layout.members;
    if (!members || !field || field === "cluster") return null;
    if (field === "role" || field === "region") return members[field].map((v) => v || null);
    const attribute = (members.attributes || {})[field.slice(5)];
    if (!attribute) return null;
    const values = attribute.values;
    if (attribute.type === "integer" || attribute.type === "number") {
      const numbers = values.filter((v) => typeof v === "number");
      if (!numbers.length) return values.map(() => null);
      const low = Math.min(...numbers), high = Math.max(...numbers), step = (high - low) / 5 || 1;
      return values.map((v) => {
        if (typeof v !== "number") return null;
        const bin = Math.min(4, Math.floor((v - low) / step));
        return formatNumber(low + bin * step) + " - " + formatNumber(bin === 4 ? high : low + (bin + 1) * step);
      });
    }
    return values.map((v) => (v === null || v === undefined ? null
                              : Array.isArray(v) ? (v.length ? String(v[0]) : null) : String(v)));
  }

  // Categories in order of size (the largest first gets the first colour), with their colours and counts.
  function categoryColours(labels) {
    const counts = new Map();
    for (const label of labels) if (label !== null) counts.set(label, (counts.get(label) || 0) + 1);
    const ordered = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return new Map(ordered.map(([label, count], k) => [label, { colour: colour(k), count: count }]));
  }

  function fillHighlightValues() {
    const field = $("highlight-field").value, select = $("highlight-value");
    const chosen = select.value;
    select.replaceChildren();
    const labels = categories(field);
    select.hidden = !labels;
    if (!labels) return;
    for (const [label, info] of categoryColours(labels)) {
      const option = document.createElement("option");
      option.value = label;
      option.textContent = categoryText(field, label) + " (" + info.count + ")";
      select.appendChild(option);
    }
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  }

  // Which members the highlight keeps (null: everyone).
  function highlighted() {
    const labels = categories($("highlight-field").value), value = $("highlight-value").value;
    return labels ? labels.map((label) => label === value) : null;
  }

  // --- drawing ----------------------------------------------------------------------------------------

  function colour(rank) { return rank < PALETTE.length ? PALETTE[rank] : OTHER; }

  // A drawn cluster's colour: the one the server gives (the pictures' palette), else by its rank here.
  function clusterColour(clusters, c) { return clusters.colour ? clusters.colour[c] : colour(clusters.rank[c]); }

  function resizeCanvas() {
    const ratio = window.devicePixelRatio || 1;
    const box = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(box.width * ratio));
    canvas.height = Math.max(1, Math.round(box.height * ratio));
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
  }

  // The drawing's own bounds (dots or bubbles with their radius), not the layout's square, centred in the canvas.
  function fitView() {
    const box = canvas.getBoundingClientRect(), layout = state.layout;
    let left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
    const take = (x, y, r) => {
      left = Math.min(left, x - r); right = Math.max(right, x + r);
      top = Math.min(top, y - r); bottom = Math.max(bottom, y + r);
    };
    if (layout && layout.view === "members") {
      const radius = sizes(layout);
      layout.members.x.forEach((x, i) => take(x, layout.members.y[i], radius[i]));
    } else if (layout) {
      layout.clusters.x.forEach((x, c) => take(x, layout.clusters.y[c], Math.max(layout.clusters.radius[c], 2)));
    }
    if (!(right > left)) { left = 0; top = 0; right = bottom = layout ? layout.extent : 1000; }
    const width = Math.max(right - left, 1), height = Math.max(bottom - top, 1);
    // The legend sits over the canvas's lower right corner: the drawing is framed in the canvas left of it
    // when that costs the drawing less than framing it above the legend.
    const legend = $("legend").getBoundingClientRect();
    const room = legend.width ? [[box.width - (box.right - legend.left), box.height],
                                 [box.width, legend.top - box.top]] : [[box.width, box.height]];
    let best = null;
    for (const [w, h] of room) {
      const scale = Math.min(w / width, h / height) * 0.92;
      if (!best || scale > best.scale) best = { scale: scale, w: w, h: h };
    }
    state.view = { scale: best.scale, x: (best.w - width * best.scale) / 2 - left * best.scale,
                   y: (best.h - height * best.scale) / 2 - top * best.scale };
  }

  function sizes(layout) {
    const values = state.sizeBy === "betweenness" ? layout.members.betweenness : layout.members.degree;
    const top = values.reduce((a, b) => Math.max(a, b), 0);
    // Smaller dots for crowded networks (as service/exports/pictures.py does); zooming in still enlarges them.
    const shrink = values.length ? Math.min(1, Math.max(0.35, Math.sqrt(400 / values.length))) : 1;
    return values.map((value) => shrink * (top > 0 ? 2.5 + 9 * Math.sqrt(value / top) : 3));
  }

  function draw() {
    const box = canvas.getBoundingClientRect();
    context.clearRect(0, 0, box.width, box.height);
    const layout = state.layout;
    if (!layout) return;
    context.save();
    context.translate(state.view.x, state.view.y);
    context.scale(state.view.scale, state.view.scale);
    const drawn = layout.view === "members" ? drawMembers(layout) : drawClusters(layout);
    context.restore();
    // The view transform, public so tools (and the browser test) can find a member on the screen.
    canvas.dataset.scale = String(state.view.scale);
    canvas.dataset.offsetX = String(state.view.x);
    canvas.dataset.offsetY = String(state.view.y);
    canvas.dataset.view = layout.view;
    canvas.dataset.drawn = String(drawn);
    canvas.dataset.drawnClusters = String(layout.clusters.id.length);
  }

  // Batched: one path per tie width and one per colour, so 5,000 members and their ties redraw quickly
  // enough to pan and zoom (one stroke() per tie took half a second in software rendering).
  let frameRequested = false;
  function drawSoon() {  // at most one redraw per animation frame while panning and zooming
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(() => { frameRequested = false; draw(); });
  }

  function drawMembers(layout) {
    const members = layout.members, ties = layout.ties, unit = 1 / state.view.scale;
    context.strokeStyle = "rgba(107, 114, 128, 0.35)";
    context.lineCap = "round";
    const byWidth = new Map();
    for (let t = 0; t < ties.source.length; t++) {
      const width = Math.max(0.5 * unit, 0.3 + 0.35 * Math.min(Math.round(ties.strength[t]), 10));
      if (!byWidth.has(width)) byWidth.set(width, []);
      byWidth.get(width).push(t);
    }
    for (const [width, indices] of byWidth) {
      context.lineWidth = width;
      context.beginPath();
      for (const t of indices) {
        const a = ties.source[t], b = ties.target[t];
        context.moveTo(members.x[a], members.y[a]);
        context.lineTo(members.x[b], members.y[b]);
      }
      context.stroke();
    }
    const chosen = state.selected;
    let selectedTies = 0;
    if (chosen >= 0) {  // the selected member's ties, dark over the others
      context.strokeStyle = "rgba(17, 17, 17, 0.85)";
      context.lineWidth = Math.max(1.6 * unit, 1.2);
      context.beginPath();
      for (let t = 0; t < ties.source.length; t++) {
        const a = ties.source[t], b = ties.target[t];
        if (a !== chosen && b !== chosen) continue;
        context.moveTo(members.x[a], members.y[a]);
        context.lineTo(members.x[b], members.y[b]);
        selectedTies += 1;
      }
      context.stroke();
      if (state.suggested.length) {  // its suggested introductions, dashed
        context.strokeStyle = SUGGESTED;
        context.setLineDash([6 * unit, 4 * unit]);
        context.beginPath();
        for (const s of state.suggested) {
          context.moveTo(members.x[chosen], members.y[chosen]);
          context.lineTo(members.x[s], members.y[s]);
        }
        context.stroke();
        context.setLineDash([]);
      }
    }
    canvas.dataset.selectedTies = chosen >= 0 ? String(selectedTies) : "";
    canvas.dataset.suggested = chosen >= 0 ? String(state.suggested.length) : "";
    const radius = sizes(layout), byColour = new Map(), marked = [];
    const labels = categories($("colour-by").value), palette = labels ? categoryColours(labels) : null;
    const kept = highlighted();
    let shownHighlighted = 0;
    for (let i = 0; i < members.id.length; i++) {
      let fill = labels ? (labels[i] === null ? OTHER : palette.get(labels[i]).colour)
                        : clusterColour(layout.clusters, members.cluster[i]);
      if (kept && !kept[i]) fill = "#e5e7eb";          // outside the highlight: a pale dot
      else if (kept) shownHighlighted += 1;
      if (!byColour.has(fill)) byColour.set(fill, []);
      byColour.get(fill).push(i);
      if (members.broker[i] || members.articulation_point[i] || i === state.selected) marked.push(i);
      else if (chosen >= 0 && state.suggested.includes(i)) marked.push(i);
    }
    canvas.dataset.highlighted = kept ? String(shownHighlighted) : "";
    context.strokeStyle = "#ffffff";
    context.lineWidth = 0.6 * Math.min(unit * 1.5, 1.5);
    for (const [fill, indices] of byColour) {
      context.beginPath();
      for (const i of indices) {
        context.moveTo(members.x[i] + radius[i], members.y[i]);
        context.arc(members.x[i], members.y[i], radius[i], 0, 2 * Math.PI);
      }
      context.fillStyle = fill;
      context.fill();
      if (indices.length * state.view.scale < 20000) context.stroke();  // outlines only where they show
    }
    const line = Math.min(unit * 1.5, 1.5);
    for (const i of marked) {
      if (members.broker[i] || members.articulation_point[i]) {
        context.beginPath();
        context.arc(members.x[i], members.y[i], radius[i], 0, 2 * Math.PI);
        context.lineWidth = 2 * line;
        context.strokeStyle = members.articulation_point[i] ? ARTICULATION : BROKER;
        context.stroke();
      }
      if (i !== state.selected && state.suggested.includes(i)) {  // a suggested introduction: an orange ring
        context.beginPath();
        context.arc(members.x[i], members.y[i], radius[i] + 3 * line, 0, 2 * Math.PI);
        context.lineWidth = 2 * line;
        context.strokeStyle = SUGGESTED;
        context.stroke();
      }
      if (i === state.selected) {  // a halo around the dot, whatever its colour
        context.beginPath();
        context.arc(members.x[i], members.y[i], radius[i] + 4 * line, 0, 2 * Math.PI);
        context.lineWidth = 2.5 * line;
        context.strokeStyle = "#111111";
        context.stroke();
      }
    }
    return members.id.length;
  }

  function drawClusters(layout) {
    const clusters = layout.clusters, links = layout.cluster_ties;
    context.strokeStyle = "rgba(107, 114, 128, 0.45)";
    for (let t = 0; t < links.source.length; t++) {
      const a = links.source[t], b = links.target[t];
      context.lineWidth = 1.5 * Math.log1p(links.ties[t]);
      context.beginPath();
      context.moveTo(clusters.x[a], clusters.y[a]);
      context.lineTo(clusters.x[b], clusters.y[b]);
      context.stroke();
    }
    context.textAlign = "center";
    context.textBaseline = "middle";
    for (let c = 0; c < clusters.id.length; c++) {
      context.beginPath();
      context.arc(clusters.x[c], clusters.y[c], Math.max(clusters.radius[c], 2), 0, 2 * Math.PI);
      context.fillStyle = clusterColour(clusters, c);
      context.globalAlpha = c === state.selected ? 1 : 0.75;
      context.fill();
      context.globalAlpha = 1;
      context.lineWidth = c === state.selected ? 4 : 1;
      context.strokeStyle = c === state.selected ? "#f59e0b" : "#ffffff";
      context.stroke();
      if (clusters.radius[c] > 18) {
        context.fillStyle = "#ffffff";
        context.font = Math.min(28, clusters.radius[c] / 2.5) + "px system-ui, sans-serif";
        context.fillText(String(clusters.members_shown[c]), clusters.x[c], clusters.y[c]);
      }
    }
    return 0;
  }

  // "1 member", "12 members".
  function count(n, noun) { return n.toLocaleString("en") + " " + noun + (n === 1 ? "" : "s"); }

  function clusterName(clusters, c) { return clusters.name ? clusters.name[c] : "cluster #" + (clusters.rank[c] + 1); }

  function renderLegend() {
    const legend = $("legend"), layout = state.layout;
    legend.replaceChildren();
    const row = (swatchStyle, text, ring) => {
      const div = document.createElement("div");
      div.className = "row";
      const swatch = document.createElement("span");
      swatch.className = "swatch" + (ring ? " ring" : "");
      if (ring) swatch.style.borderColor = swatchStyle; else swatch.style.background = swatchStyle;
      const label = document.createElement("span");
      label.textContent = text;
      div.append(swatch, label);
      legend.appendChild(div);
    };
    const field = $("colour-by").value, clusters = layout.clusters;
    const labels = layout.view === "members" ? categories(field) : null;
    if (labels) {
      const palette = [...categoryColours(labels)];
      for (const [label, info] of palette.slice(0, 8)) row(info.colour, categoryText(field, label) + ": " + info.count);
      const rest = palette.slice(8).reduce((n, [, info]) => n + info.count, 0);
      const unset = labels.filter((label) => label === null).length;
      if (rest) row(OTHER, rest + " in " + (palette.length - 8) + " more");
      if (unset) row(OTHER, unset + " not set");
    } else {
      for (let c = 0; c < Math.min(clusters.id.length, 8); c++) {
        row(clusterColour(clusters, c), clusterName(clusters, c) + ": " + count(clusters.members_shown[c], "member"));
      }
      if (clusters.id.length > 8) row(OTHER, (clusters.id.length - 8) + " more clusters");
    }
    if (layout.view === "members") {
      row(BROKER, "broker (top betweenness)", true);
      row(ARTICULATION, "articulation point", true);
    } else {
      row(OTHER, "clusters as bubbles (" + layout.members_total + " members): area = members");
    }
  }

  // --- pan, zoom, click ---------------------------------------------------------------------------------

  function toWorld(event) {
    const box = canvas.getBoundingClientRect();
    return { x: (event.clientX - box.left - state.view.x) / state.view.scale,
             y: (event.clientY - box.top - state.view.y) / state.view.scale };
  }

  function hit(point) {
    const layout = state.layout;
    if (!layout) return -1;
    let best = -1, bestDistance = Infinity;
    if (layout.view === "members") {
      const radius = sizes(layout), slack = 3 / state.view.scale;
      for (let i = 0; i < layout.members.id.length; i++) {
        const d = Math.hypot(layout.members.x[i] - point.x, layout.members.y[i] - point.y);
        if (d <= radius[i] + slack && d < bestDistance) { best = i; bestDistance = d; }
      }
    } else {
      for (let c = 0; c < layout.clusters.id.length; c++) {
        const d = Math.hypot(layout.clusters.x[c] - point.x, layout.clusters.y[c] - point.y);
        if (d <= Math.max(layout.clusters.radius[c], 2) && d < bestDistance) { best = c; bestDistance = d; }
      }
    }
    return best;
  }

  let drag = null;
  canvas.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, viewX: state.view.x, viewY: state.view.y, moved: false };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 4) drag.moved = true;
    if (drag.moved) {
      canvas.classList.add("dragging");
      state.view.x = drag.viewX + dx;
      state.view.y = drag.viewY + dy;
      drawSoon();
    }
  });
  canvas.addEventListener("pointerup", (event) => {
    const wasClick = drag && !drag.moved;
    drag = null;
    canvas.classList.remove("dragging");
    if (wasClick) select(hit(toWorld(event)));
  });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    const factor = Math.exp(-event.deltaY * 0.0015);
    const scale = Math.min(Math.max(state.view.scale * factor, 0.05), 60);
    const px = event.clientX - box.left, py = event.clientY - box.top;
    state.view.x = px - (px - state.view.x) * (scale / state.view.scale);
    state.view.y = py - (py - state.view.y) * (scale / state.view.scale);
    state.view.scale = scale;
    drawSoon();
  }, { passive: false });

  // --- the member panel ---------------------------------------------------------------------------------

  function clearPanel() {
    const panel = $("member-panel");
    panel.dataset.state = "empty";
    delete panel.dataset.memberId;
    delete panel.dataset.clusterId;
    $("member-details").replaceChildren();
    $("recommendations").replaceChildren();
    $("recommendations").dataset.count = "0";
    $("list-title").hidden = true;      // a heading with nothing under it until something is selected
  }

  function select(index) {
    state.selected = index;
    state.suggested = [];
    draw();
    if (index < 0) return;
    if (state.layout.view === "members") showMember(index); else showCluster(index);
  }

  function addDetail(list, term, value) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = value === null || value === undefined ? "-" : String(value);
    list.append(dt, dd);
  }

  function badge(kind, text) {
    const span = document.createElement("span");
    span.className = "badge " + kind;
    span.textContent = text;
    return span;
  }

  async function showMember(index) {
    const layout = state.layout, members = layout.members, id = members.id[index];
    const panel = $("member-panel"), details = $("member-details"), list = $("recommendations");
    panel.dataset.state = "loading";
    panel.dataset.memberId = id;
    delete panel.dataset.clusterId;
    list.replaceChildren();
    list.dataset.count = "0";
    $("list-title").textContent = "Recommended introductions";
    $("list-title").hidden = false;
    const title = document.createElement("h3");
    title.textContent = members.name[index] || id;
    const dl = document.createElement("dl");
    const cluster = members.cluster[index];
    addDetail(dl, "role", termLabel("member_role", members.role[index]));
    addDetail(dl, "region", members.region[index]);
    addDetail(dl, "cluster", clusterName(layout.clusters, cluster) + " (" + count(layout.clusters.size[cluster], "member") + ")");
    addDetail(dl, "degree", members.degree[index]);
    addDetail(dl, "betweenness", members.betweenness[index].toFixed(4));
    const flags = document.createElement("span");
    if (members.broker[index]) flags.appendChild(badge("broker", "broker"));
    if (members.articulation_point[index]) flags.appendChild(badge("articulation", "articulation point"));
    addDetail(dl, "role in the network", flags.childNodes.length ? flags : "-");
    details.replaceChildren(title, dl);
    try {
      const [profile, recommendations] = await Promise.all([
        api("/v1/members/" + encodeURIComponent(id)),
        api("/v1/members/" + encodeURIComponent(id) + "/recommendations?limit=5")]);
      if (panel.dataset.memberId !== id) return;  // another member was clicked meanwhile
      addDetail(dl, "title", profile.title);
      addDetail(dl, "topics", (profile.topics || []).join(", ") || "-");
      addDetail(dl, "organizations", (profile.affiliations || []).map((a) => a.organization_name).join(", ") || "-");
      renderRecommendations(recommendations.items);
      state.suggested = recommendations.items.map((item) => members.id.indexOf(item.member.id)).filter((i) => i >= 0);
      draw();
      panel.dataset.state = "loaded";
    } catch (error) {
      panel.dataset.state = "error";
      failed(error);
    }
  }

  // The service's own sentence (roles in it read as their labels), else one made from the reason's data.
  function reasonText(reason) {
    if (reason.text) return reason.text;
    switch (reason.type) {
      case "mutual_collaborators":
        return reason.count + " mutual collaborator" + (reason.count === 1 ? "" : "s") + ": " +
               (reason.members || []).map((m) => m.name).join(", ");
      case "shared_topics": return "shared topics: " + (reason.topics || []).join(", ");
      case "bridges_clusters": return "bridges two clusters";
      case "same_region": return "same region";
      default: return reason.type.replace(/_/g, " ");
    }
  }

  function renderRecommendations(items) {
    const list = $("recommendations");
    list.replaceChildren();
    for (const item of items) {
      const li = document.createElement("li");
      li.className = "recommendation";
      const name = document.createElement("button");
      name.type = "button";
      name.className = "link";
      name.textContent = item.member.name + " (score " + item.score.toFixed(2) + ")";
      name.addEventListener("click", () => {
        const index = state.layout.members.id.indexOf(item.member.id);
        if (index >= 0) select(index);
      });
      const why = document.createElement("div");
      why.className = "why";
      why.textContent = item.reasons.map((reason) => reasonText(reason)).join("; ") ||
                        "no particular reason";
      li.append(name, why);
      list.appendChild(li);
    }
    if (!items.length) {
      const li = document.createElement("li");
      li.textContent = "no introductions to suggest";
      list.appendChild(li);
    }
    list.dataset.count = String(items.length);
  }

  async function showCluster(index) {
    const clusters = state.layout.clusters, panel = $("member-panel"), list = $("recommendations");
    const id = clusters.id[index];
    panel.dataset.state = "loading";
    panel.dataset.clusterId = id;
    delete panel.dataset.memberId;
    const title = document.createElement("h3");
    title.textContent = clusterName(clusters, index);
    const dl = document.createElement("dl");
    addDetail(dl, "id", id);
    addDetail(dl, "members", clusters.size[index]);
    addDetail(dl, "shown with the filters", clusters.members_shown[index]);
    $("member-details").replaceChildren(title, dl);
    $("list-title").textContent = "Members (first 20 by name)";
    $("list-title").hidden = false;
    list.replaceChildren();
    list.dataset.count = "0";
    try {
      const page = await api("/v1/analytics/clusters/" + encodeURIComponent(id) +
                             query({ limit: 20, as_of: $("filter-as-of").value }));
      if (panel.dataset.clusterId !== id) return;
      for (const member of page.items) {
        const li = document.createElement("li");
        li.className = "cluster-member";
        li.textContent = member.name + (member.role ? " (" + termLabel("member_role", member.role) + ")" : "");
        list.appendChild(li);
      }
      list.dataset.count = String(page.items.length);
      panel.dataset.state = "cluster";
    } catch (error) {
      panel.dataset.state = "error";
      failed(error);
    }
  }

  // --- health and its trend -------------------------------------------------------------------------------

  function metric(metrics, path) {
    return path.split(".").reduce((value, part) => (value === null || value === undefined ? value : value[part]), metrics);
  }

  function formatNumber(value) {
    if (value === null || value === undefined) return "-";
    return Number.isInteger(value) ? String(value) : value.toFixed(3);
  }

  async function loadHealth() {
    const current = filters();
    const [health, snapshots] = await Promise.all([
      api("/v1/analytics/health" + query({ ...current, view: "" })),
      api("/v1/analytics/health/snapshots?limit=100")]);
    const list = $("health-metrics");
    list.replaceChildren();
    for (const [path, label, explanation] of HEALTH_METRICS) {
      const cell = document.createElement("span"), value = document.createElement("span");
      value.className = "value";
      value.textContent = formatNumber(metric(health.metrics, path));
      const explain = document.createElement("span");
      explain.className = "explain";
      explain.textContent = explanation;
      cell.append(value, explain);
      addDetail(list, label, cell);
    }
    renderTrend(snapshots.items, health);
  }

  function renderTrend(snapshots, health) {
    const trend = $("trend");
    trend.replaceChildren();
    const rows = snapshots.map((s) => ({ label: s.label + " (" + s.as_of + ")", metrics: s.metrics }));
    rows.push({ label: "now (" + health.computed.as_of + ")", metrics: health.metrics });
    if (rows.length === 1) {
      const p = document.createElement("p");
      p.className = "hint";
      p.textContent = "No snapshots yet: take one below to follow how the network changes over time.";
      trend.appendChild(p);
    }
    const table = document.createElement("table");
    table.className = "trend";
    const head = table.createTHead().insertRow();
    for (const name of ["", ...TREND_METRICS]) {
      const th = document.createElement("th");
      th.textContent = name.replace(/_/g, " ");
      head.appendChild(th);
    }
    const body = table.createTBody();
    rows.forEach((row, r) => {
      const tr = body.insertRow();
      tr.insertCell().textContent = row.label;
      for (const name of TREND_METRICS) {
        const cell = tr.insertCell(), value = row.metrics[name];
        cell.textContent = formatNumber(value);
        const before = r > 0 ? rows[r - 1].metrics[name] : null;
        if (typeof value === "number" && typeof before === "number" && value !== before) {
          cell.classList.add(value > before ? "up" : "down");
          cell.textContent += value > before ? " \u25B2" : " \u25BC";
        }
      }
    });
    trend.appendChild(table);
  }

  // --- alerts (GET /v1/alerts) -----------------------------------------------------------------------------

  const ALERT_TITLES = {
    "cut_point.new": "New cut point", "broker.inactive": "Broker gone", "silo": "Silo",
    "health.changed": "Health moved", "webhook.disabled": "Webhook disabled"};

  function describeAlert(alert) {
    const d = alert.data || {};
    switch (alert.kind) {
      case "cut_point.new":
        return (d.name || d.member_id) + " now holds " + d.cut_off + " members to the rest of the network";
      case "broker.inactive":
        return (d.name || d.member_id) + ", broker #" + d.rank + ", " +
          (d.reason === "deleted" ? "was removed" : "has no ties left");
      case "silo":
        return "a cluster of " + d.size + " members turned inward (E-I index " + formatNumber(d.ei_index) + ")" +
          ((d.top_members || []).length ? ": " + d.top_members.map((m) => m.name).join(", ") : "");
      case "health.changed":
        return String(d.metric).replace(/_/g, " ") + " went from " + formatNumber(d.from) + " to " + formatNumber(d.to) +
          (d.compared_with === "previous report" ? " since the previous report" :
           d.compared_with === "last alert" ? " since its last alert" : "");
      case "webhook.disabled":
        return "webhook " + d.webhook_id + " was disabled after failing for " + formatNumber(d.failing_seconds) +
          " s (last: " + d.last_answer + ")";
      default:
        return alert.subject || "";
    }
  }

  async function loadAlerts() {
    const panel = $("alerts-panel"), list = $("alerts");
    const page = await api("/v1/alerts?limit=10");
    list.replaceChildren();
    for (const alert of page.items) {
      const li = document.createElement("li");
      li.dataset.kind = alert.kind;
      const title = document.createElement("strong");
      title.textContent = ALERT_TITLES[alert.kind] || alert.kind;
      const when = document.createElement("time");
      when.dateTime = alert.at;
      when.textContent = " " + new Date(alert.at).toLocaleString();
      const text = document.createElement("div");
      text.textContent = describeAlert(alert);
      li.append(title, when, text);
      const memberId = (alert.data || {}).member_id;
      const index = memberId && state.layout && state.layout.view === "members" ? state.layout.members.id.indexOf(memberId) : -1;
      if (index >= 0) {
        li.classList.add("clickable");
        li.tabIndex = 0;
        li.addEventListener("click", () => select(index));
        li.addEventListener("keydown", (event) => { if (event.key === "Enter") select(index); });
      }
      list.appendChild(li);
    }
    list.dataset.count = String(page.items.length);
    panel.dataset.state = page.items.length ? "loaded" : "empty";
    if (!page.items.length) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "No alerts yet: they come as the analytics worker recomputes after writes.";
      list.appendChild(li);
    }
  }

  // --- wiring -----------------------------------------------------------------------------------------------

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("key-input").value.trim();
    if (!value) return;
    sessionStorage.setItem(KEY_STORAGE, value);
    $("key-input").value = "";
    loadAll();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    state.layout = null;
    draw();
    askForKey();
  });
  for (const id of ["filter-organization", "filter-region", "filter-role", "filter-topic", "view"]) {
    $(id).addEventListener("change", reload);
  }
  $("filter-as-of").addEventListener("change", () => {
    const input = $("filter-as-of");
    if (input.value && !/^\d{4}-\d{2}-\d{2}$/.test(input.value.trim())) {
      setStatus("As of: give a date as yyyy-mm-dd, e.g. 2026-09-01, or leave it empty for today", true);
      return;
    }
    input.value = input.value.trim();
    reload();
  });
  // Enter in the field fires its change (which submits, for a name picked from the suggestions) and then the
  // form's own submission: the second, for the same name at once, would fetch the member's panel again.
  let lastFind = { text: null, at: -Infinity };
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!state.layout || state.layout.view !== "members") return;
    const text = $("search").value, now = performance.now();
    if (text === lastFind.text && now - lastFind.at < 500) return;
    lastFind = { text, at: now };
    const index = findMember(text);
    if (index < 0) { setStatus("No member shown is called " + JSON.stringify(text.trim()), true); return; }
    centreOn(index);
    select(index);
  });
  $("search").addEventListener("change", () => $("search-form").requestSubmit());
  $("snapshot-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const current = filters(), button = $("take-snapshot");
    const label = $("snapshot-label").value.trim() || "explorer " + new Date().toISOString().slice(0, 16).replace("T", " ");
    const body = { label: label };
    for (const name of ["organization_id", "region", "role", "as_of"]) if (current[name]) body[name] = current[name];
    button.disabled = true;
    try {
      const response = await fetch("/v1/analytics/health/snapshots", {
        method: "POST", cache: "no-store", body: JSON.stringify(body),
        headers: { "Authorization": "Bearer " + key(), "Accept": "application/json", "Content-Type": "application/json" }});
      const answer = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, answer);
      if (response.status === 202) {  // no health report yet at this revision: the worker is computing one
        setStatus("The network's health is being computed; take the snapshot again in a few seconds", true);
        return;
      }
      $("snapshot-label").value = "";
      setStatus("Snapshot \u201C" + answer.label + "\u201D taken");
      await loadHealth();
    } catch (error) {
      setStatus("Could not take a snapshot: " + error.message, true);
    } finally {
      button.disabled = false;
    }
  });
  $("size-by").addEventListener("change", () => { state.sizeBy = $("size-by").value; draw(); });
  $("colour-by").addEventListener("change", () => { draw(); renderLegend(); });
  $("highlight-field").addEventListener("change", () => { fillHighlightValues(); draw(); });
  $("highlight-value").addEventListener("change", draw);
  $("fit").addEventListener("click", () => { fitView(); draw(); });
  window.addEventListener("resize", () => { resizeCanvas(); draw(); });

  takeKeyFromFragment();
  resizeCanvas();
  if (key()) loadAll(); else askForKey();
})();
