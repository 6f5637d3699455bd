// The hosted check-in page: reads the token from its own address, shows the check-in from
// GET /v1/respond/<token>, saves drafts and submits with PUT. No key, no cookies, no third-party code.
"use strict";

(function () {
  const token = decodeURIComponent(location.pathname.split("/").pop() || "");
  const api = "/v1/respond/" + encodeURIComponent(token);
  const MATCHES_SHOWN = 20;
  const state = { survey: null, questions: [] };
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function showProblem(problem) {
    const box = $("problem");
    box.textContent = (problem && (problem.detail || problem.title)) || "Something went wrong; please try again.";
    box.hidden = false;
  }

  async function call(method, body) {
    const response = await fetch(api, {
      method, headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
      cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer",
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) throw Object.assign(new Error("request failed"), { problem: data, status: response.status });
    return data;
  }

  // --- name generators: a searchable roster, the chosen names, their scales, write-ins ---------------

  function namesQuestion(question, roster, saved, index) {
    const q = { question, chosen: new Map(), writeIns: [], roster };
    const id = "q" + index;
    // The role as its vocabulary labels it ("Instructional Coach"), searchable by either spelling.
    for (const entry of roster) {
      entry.shownRole = entry.role_label || entry.role;
      entry.key = [entry.name, entry.organization, entry.shownRole, entry.role].filter(Boolean).join(" ").toLowerCase();
    }
    const byId = new Map(roster.map((entry) => [entry.member_id, entry]));
    const search = el("input", { id: id + "-search", type: "search", autocomplete: "off", "aria-controls": id + "-results",
                                 "aria-describedby": id + "-count" });
    const results = el("ul", { id: id + "-results", class: "results", "aria-label": "Matching names" });
    const count = el("p", { id: id + "-count", class: "count", "aria-live": "polite" });
    const chosen = el("ol", { class: "chosen", "aria-label": "People you named" });
    const tally = el("p", { class: "count" });

    function room() { return question.max_names - q.chosen.size - q.writeIns.length; }

    function filter() {
      const text = search.value.trim().toLowerCase();
      const shown = [];
      let matches = 0;
      if (text) {
        for (const entry of roster) {
          if (entry.key.includes(text) && !q.chosen.has(entry.member_id)) {
            matches += 1;
            if (shown.length < MATCHES_SHOWN) shown.push(entry);
          }
        }
      }
      results.replaceChildren(...shown.map((entry) => el("li", {},
        el("button", { type: "button", "data-member": entry.member_id, on: { click: () => choose(entry, true) } },
           el("span", { class: "who", text: entry.name }),
           el("span", { class: "where", text: [entry.organization, entry.shownRole].filter(Boolean).join(" · ") })))));
      count.textContent = !text ? "" : matches === 0 ? "No one matches." :
        matches > shown.length ? `${matches} match; the first ${shown.length} are listed. Type more to narrow.` :
        matches === 1 ? "1 match." : `${matches} match.`;
    }

    function choose(entry, focus, scales) {
      if (q.chosen.has(entry.member_id)) return;
      if (room() <= 0) { count.textContent = `You can name at most ${question.max_names} people.`; return; }
      const item = el("li", { "data-member": entry.member_id });
      const picked = { entry, scales: Object.assign({}, scales || {}), item };
      const remove = el("button", { type: "button", "aria-label": "Remove " + entry.name,
                                    on: { click: () => { q.chosen.delete(entry.member_id); item.remove(); changed(); search.focus(); } } },
                        "Remove");
      item.append(el("div", { class: "head" },
        el("div", {}, el("span", { class: "who", text: entry.name }),
           el("span", { class: "where", text: [entry.organization, entry.shownRole].filter(Boolean).join(" · ") })), remove));
      for (const scale of question.scales || []) item.append(scaleField(id, entry, scale, picked));
      q.chosen.set(entry.member_id, picked);
      chosen.append(item);
      search.value = "";
      filter();
      changed();
      if (focus) { const first = item.querySelector("input"); (first || remove).focus(); }
    }

    const box = el("fieldset", { class: "question", "data-question": question.id },
      el("legend", { text: question.prompt }),
      el("p", { class: "hint", text: `Name up to ${question.max_names} people. Search by name, organization or role.` }),
      el("label", { for: search.id, text: "Search names" }), search, count, results, chosen, tally);
    search.addEventListener("input", filter);
    search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        const first = results.querySelector("button");
        if (first) first.click();
      } else if (event.key === "ArrowDown") {
        const first = results.querySelector("button");
        if (first) { event.preventDefault(); first.focus(); }
      }
    });
    results.addEventListener("keydown", (event) => {
      const buttons = [...results.querySelectorAll("button")];
      const at = buttons.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && at < buttons.length - 1) { event.preventDefault(); buttons[at + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (at > 0 ? buttons[at - 1] : search).focus(); }
    });

    if (question.allow_write_ins) {
      const input = el("input", { id: id + "-writein", type: "text", maxlength: "200", autocomplete: "off" });
      const list = el("ul", { class: "chosen", "aria-label": "Names you wrote in" });
      const add = (name) => {
        name = name.trim();
        if (!name || q.writeIns.includes(name)) return;
        if (room() <= 0) { count.textContent = `You can name at most ${question.max_names} people.`; return; }
        q.writeIns.push(name);
        const item = el("li", {}, el("div", { class: "head" }, el("span", { class: "who", text: name }),
          el("button", { type: "button", "aria-label": "Remove " + name,
                         on: { click: () => { q.writeIns.splice(q.writeIns.indexOf(name), 1); item.remove(); changed(); } } }, "Remove")));
        list.append(item);
        changed();
      };
      box.append(el("label", { for: input.id, text: "Someone not on the list? Write their name" }),
        el("div", { class: "writein" }, input,
           el("button", { type: "button", on: { click: () => { add(input.value); input.value = ""; input.focus(); } } }, "Add")),
        list);
      input.addEventListener("keydown", (event) => {
        if (event.key === "Enter") { event.preventDefault(); add(input.value); input.value = ""; }
      });
      for (const name of (saved && saved.write_ins) || []) add(name);
    }
    for (const named of (saved && saved.named) || []) {
      const entry = byId.get(named.member_id);
      if (entry) choose(entry, false, named.scales);
    }
    q.render = () => { tally.textContent = `${q.chosen.size + q.writeIns.length} of ${question.max_names} named.`; };
    q.render();
    q.answer = () => ({
      question_id: question.id,
      named: [...q.chosen.values()].map((p) => ({ member_id: p.entry.member_id, scales: p.scales })),
      write_ins: question.allow_write_ins ? q.writeIns.slice() : undefined,
    });
    q.node = box;
    return q;
  }

  function scaleField(id, entry, scale, picked) {
    const name = `${id}-${entry.member_id}-${scale.name}`;
    const points = el("div", { class: "points" });
    for (let value = scale.min; value <= scale.max; value += 1) {
      const label = scale.labels ? scale.labels[value - scale.min] : String(value);
      const input = el("input", { type: "radio", name, id: `${name}-${value}`, value: String(value),
                                  checked: picked.scales[scale.name] === value,
                                  on: { change: () => { picked.scales[scale.name] = value; changed(); } } });
      points.append(input, el("label", { for: input.id, text: label, title: scale.labels ? `${value}` : null }));
    }
    const title = scale.name.charAt(0).toUpperCase() + scale.name.slice(1).replace(/_/g, " ");
    return el("fieldset", { class: "scale" }, el("legend", { text: `${title} (${entry.name})` }), points);
  }

  // --- attribute questions: the respondent's own field ----------------------------------------------

  function attributeQuestion(question, saved, index) {
    const input = question.input || { type: "string", label: question.attribute };
    const id = "q" + index + "-value";
    let field;
    if (input.type === "enum" || input.type === "boolean") {
      const options = input.type === "boolean" ? [["", "—"], ["true", "Yes"], ["false", "No"]]
        : [["", "—"], ...(input.values || []).map((v) => [v, v])];
      field = el("select", { id }, ...options.map(([value, text]) => el("option", { value, text })));
    } else {
      const type = { integer: "number", number: "number", date: "date" }[input.type] || "text";
      field = el("input", { id, type, step: input.type === "number" ? "any" : null, autocomplete: "off" });
    }
    // A saved answer first; else the value on file, to confirm or correct (none comes for a personal field).
    const given = (value) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
    const asText = (value) => Array.isArray(value) ? value.join(", ") : String(value);
    if (saved && given(saved.value)) field.value = asText(saved.value);
    else if (given(input.current)) field.value = asText(input.current);
    const readable = (value) => input.type === "boolean" ? (value ? "Yes" : "No") : asText(value);
    const onFileText = given(input.current)
      ? `On file for you: ${readable(input.current)}. Keep it, or change it if it is out of date.`
      : input.pii ? "What is on file is not shown here, as it is personal. Leave this empty to keep it." : null;
    const onFile = onFileText ? el("p", { id: id + "-on-file", class: "hint", text: onFileText }) : null;
    const tags = input.type === "tags"
      ? el("p", { id: id + "-tags", class: "hint", text: "Separate several with commas." }) : null;
    const described = [onFile, tags].filter(Boolean).map((node) => node.id).join(" ");
    if (described) field.setAttribute("aria-describedby", described);
    field.addEventListener("change", changed);
    const box = el("fieldset", { class: "question", "data-question": question.id },
      question.prompt ? el("legend", { text: question.prompt }) : null,
      el("label", { for: id, text: input.label }), field, onFile, tags);
    return {
      question, node: box,
      answer() {
        const raw = field.value.trim();
        if (raw === "") return null;
        let value = raw;
        if (input.type === "integer") value = parseInt(raw, 10);
        else if (input.type === "number") value = Number(raw);
        else if (input.type === "boolean") value = raw === "true";
        else if (input.type === "tags") value = raw.split(",").map((s) => s.trim()).filter(Boolean);
        return { question_id: question.id, value };
      },
    };
  }

  // --- saving ----------------------------------------------------------------------------------------

  let timer = null;
  function changed() {
    for (const q of state.questions) if (q.render) q.render();
    $("status").textContent = "Unsaved changes.";
    clearTimeout(timer);
    timer = setTimeout(() => save(false), 4000);      // drafts save themselves a few seconds after a change
  }

  function answers() {
    return state.questions.map((q) => q.answer()).filter(Boolean)
      .map((a) => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)));
  }

  async function save(submit) {
    clearTimeout(timer);
    $("problem").hidden = true;
    $("status").textContent = submit ? "Submitting…" : "Saving draft…";
    try {
      const result = await call("PUT", { answers: answers(), submit });
      const at = new Date(result.saved_at).toLocaleTimeString();
      if (submit) {
        $("form").hidden = true;
        $("done").hidden = false;
        $("done").focus();
      }
      $("status").textContent = submit ? `Submitted at ${at}.` : `Draft saved at ${at}.`;
    } catch (error) {
      $("status").textContent = "Not saved.";
      showProblem(error.problem);
    }
  }

  async function load() {
    let view;
    try {
      view = await call("GET");
    } catch (error) {
      $("title").textContent = "This check-in link cannot be used";
      showProblem(error.problem);
      return;
    }
    state.survey = view.survey;
    document.title = view.survey.title;
    $("title").textContent = view.survey.title;
    const closes = new Date(view.survey.closes_at).toLocaleString();
    $("greeting").textContent = `Hello, ${view.respondent.name}. Answers are taken until ${closes}.`;
    const saved = new Map((view.answers || []).map((a) => [a.question_id, a]));
    const container = $("questions");
    view.survey.questions.forEach((question, index) => {
      const q = question.type === "names"
        ? namesQuestion(question, view.rosters[question.id] || [], saved.get(question.id), index)
        : attributeQuestion(question, saved.get(question.id), index);
      state.questions.push(q);
      container.append(q.node);
    });
    clearTimeout(timer);
    $("status").textContent = view.status === "submitted" ? "You have submitted; you may change your answers."
      : view.status === "started" ? "Your draft is restored." : "";
    $("form").hidden = false;
  }

  $("form").addEventListener("submit", (event) => { event.preventDefault(); save(true); });
  $("save").addEventListener("click", () => save(false));
  $("revise").addEventListener("click", () => { $("done").hidden = true; $("form").hidden = false; $("status").textContent = ""; });
  load();
})();
