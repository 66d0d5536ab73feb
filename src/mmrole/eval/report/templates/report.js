// Per-sample browser. Each chosen run's data is loaded from report_files/ by a script element (which works
// from file://, where fetch() is refused), then cards are drawn a page at a time. No network, no libraries.
(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var configNode = byId("report-config"), count = byId("sample-count");
  if (!configNode || !count) { return; }
  var config = JSON.parse(configNode.textContent);
  if (!config.samples.file) { return; }
  var store = window[config.global] = window[config.global] || {};
  var metrics = config.metrics;
  var runs = config.runs.map(function (run) { return { name: run.name, color: run.color, file: run.file, key: run.key }; });

  var type = byId("filter-type"), split = byId("filter-split"), role = byId("filter-role");
  var search = byId("filter-search"), failed = byId("filter-failed");
  var status = byId("browser-status"), list = byId("samples"), more = byId("show-more");
  var pickers = Array.prototype.slice.call(document.querySelectorAll("#run-picker input"));

  var samples = null, thumbs = [];  // every sample of any run, decoded once
  var chosen = [];                  // indices of the runs shown, in page order
  var pool = [], matching = [], drawn = 0, texts = {};

  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" };
  function esc(text) {
    return String(text === null || text === undefined ? "" : text).replace(/[&<>"']/g, function (c) { return ESCAPES[c]; });
  }
  function records(columns, rows) {
    return rows.map(function (row) {
      var record = {};
      columns.forEach(function (column, index) { record[column] = row[index]; });
      return record;
    });
  }

  // ------------------------------------------------------------ loading
  var waiting = {};  // key -> callbacks of a file being loaded
  function load(file, key, done) {
    if (store[key]) { done(null); return; }
    if (waiting[key]) { waiting[key].push(done); return; }
    waiting[key] = [done];
    var script = document.createElement("script");
    function finish(error) {
      var callbacks = waiting[key];
      delete waiting[key];
      callbacks.forEach(function (callback) { callback(error); });
    }
    script.onload = function () { finish(store[key] ? null : file + " holds no report data"); };
    script.onerror = function () { finish("could not load " + file); };
    script.charset = "utf-8";
    script.src = file;
    document.body.appendChild(script);
  }

  function decodeSamples() {
    var raw = store[config.samples.key];
    samples = records(raw.columns, raw.rows);
    samples.forEach(function (sample) {
      if (sample.thumb_src) { thumbs[sample.thumb] = sample.thumb_src; }
    });
  }

  function decodeRun(run) {
    var raw = store[run.key], data = { ids: {}, answers: {}, reviews: {}, ratios: raw.ratios };
    raw.sample_ids.forEach(function (id) { data.ids[id] = true; });
    records(raw.columns.answers, raw.answers).forEach(function (answer) { data.answers[answer.id] = answer; });
    records(raw.columns.reviews, raw.reviews).forEach(function (review) {
      (data.reviews[review.id] = data.reviews[review.id] || []).push(review);
    });
    run.data = data;
  }

  function ensureLoaded(indices, done) {
    var pending = indices.length + 1, error = null;
    function one(problem) {
      error = error || problem;
      pending -= 1;
      if (pending > 0) { return; }
      if (!error) {
        if (samples === null) { decodeSamples(); }
        indices.forEach(function (index) { if (!runs[index].data) { decodeRun(runs[index]); } });
      }
      done(error);
    }
    load(config.samples.file, config.samples.key, one);
    indices.forEach(function (index) { load(runs[index].file, runs[index].key, one); });
  }

  // ------------------------------------------------------------ cards
  function ratioClass(ratio) { return ratio < 0.8 ? " lo" : ratio > 1.05 ? " hi" : ""; }

  function scoreCell(run, sample, metricIndex) {
    var ratios = run.data.ratios[sample.id], ratio = ratios ? ratios[metricIndex] : null;
    if (ratio === null || ratio === undefined) { return ["<td class=\"num note\" title=\"not judged\">—</td>", null]; }
    var pairs = (run.data.reviews[sample.id] || []).filter(function (r) { return r.metric === metrics[metricIndex]; })
      .map(function (r) { return r.a === null ? "failed" : r.a + "/" + r.b; });
    var title = " title=\"" + esc(pairs.join("; ")) + "\"";
    if (ratio === "failed") { return ["<td class=\"num bad\"" + title + ">failed</td>", null]; }
    return ["<td class=\"num" + ratioClass(ratio) + "\"" + title + ">" + ratio.toFixed(3) + "</td>", ratio];
  }

  function reviewHtml(review) {
    var labels = [esc(review.metric)];
    ["order", "repeat"].forEach(function (extra) {
      if (review[extra] !== null && review[extra] !== undefined) { labels.push("<span class=\"tag\">" + extra + " " + esc(review[extra]) + "</span>"); }
    });
    if (review.a !== null) {
      labels.push("A " + review.a + " / B " + review.b + " → " + (review.ratio === null ? "—" : review.ratio.toFixed(3)));
    }
    var parts = ["<h5>" + labels.join(" ") + "</h5>"];
    if (review.error) { parts.push("<div class=\"text bad\">error: " + esc(review.error) + "</div>"); }
    if (review.text) { parts.push("<div class=\"text\">" + esc(review.text) + "</div>"); }
    return "<div class=\"review\">" + parts.join("") + "</div>";
  }

  function scoresHtml(sample) {
    var rows = metrics.map(function (metric) { return "<tr><td>" + esc(metric) + "</td>"; });
    var means = [], reviews = [];
    chosen.forEach(function (index) {
      var run = runs[index], scored = [];
      metrics.forEach(function (metric, m) {
        var cell = scoreCell(run, sample, m);
        rows[m] += cell[0];
        if (cell[1] !== null) { scored.push(cell[1]); }
      });
      var mean = scored.reduce(function (a, b) { return a + b; }, 0) / scored.length;
      means.push(scored.length
        ? "<td class=\"num\" title=\"mean of " + scored.length + " metric(s)\"><b>" + mean.toFixed(3) + "</b></td>"
        : "<td class=\"num note\">—</td>");
      var own = run.data.reviews[sample.id] || [];
      if (own.length) {
        var n = own.filter(function (r) { return r.a !== null; }).length;
        reviews.push("<details><summary>Judge reviews: " + esc(run.name) + " (" + n + " of " + own.length + " scored)</summary>"
          + own.map(reviewHtml).join("") + "</details>");
      }
    });
    var heads = chosen.map(function (index) { return "<th>" + esc(runs[index].name) + "</th>"; }).join("");
    return "<table class=\"scores\"><thead><tr><th>Metric (MRPA / reference)</th>" + heads + "</tr></thead><tbody>"
      + rows.map(function (row) { return row + "</tr>"; }).join("")
      + "<tr><td><b>Mean</b></td>" + means.join("") + "</tr></tbody></table>" + reviews.join("");
  }

  function answerHtml(run, sample) {
    var answer = run.data.answers[sample.id], body;
    if (!answer) { body = "<div class=\"text bad\">no answer in this run</div>"; }
    else if (answer.failure !== null) { body = "<div class=\"text bad\">failed: " + esc(answer.failure) + "</div>"; }
    else { body = "<div class=\"text\">" + esc(answer.answer) + "</div>"; }
    return "<div class=\"answer\" style=\"border-left-color:" + esc(run.color) + "\"><h4>" + esc(run.name) + "</h4>" + body + "</div>";
  }

  function failedIn(sample) {
    return chosen.filter(function (index) {
      var answer = runs[index].data.answers[sample.id];
      return !answer || answer.failure !== null;
    });
  }

  function cardHtml(sample) {
    var tags = [sample.type, sample.split, sample.role + " ↔ " + sample.other_role, sample.language];
    var header = "<h3>" + esc(sample.id) + "</h3>" + tags.map(function (t) { return "<span class=\"tag\">" + esc(t) + "</span>"; }).join("")
      + failedIn(sample).map(function (index) { return "<span class=\"tag bad\">no answer: " + esc(runs[index].name) + "</span>"; }).join("");
    var image = typeof sample.thumb === "number"
      ? "<img src=\"" + esc(thumbs[sample.thumb]) + "\" alt=\"" + esc(sample.image) + "\" width=\"256\">"
      : "<p class=\"note\">" + esc(sample.thumb) + "</p>";
    var question = sample.instruction, cut = config.preview_chars;
    var preview = question.length > cut ? "…" + question.slice(-cut) : question;
    var questionHtml = "<details class=\"question\"><summary>Question (" + question.length + " characters): " + esc(preview)
      + "</summary><div class=\"text\"><b>System:</b> " + esc(sample.system) + "\n\n" + esc(question) + "</div></details>";
    var answers = "<div class=\"answer reference\"><h4>Reference</h4><div class=\"text\">" + esc(sample.reference) + "</div></div>"
      + chosen.map(function (index) { return answerHtml(runs[index], sample); }).join("");
    return "<article class=\"sample\" id=\"sample-" + esc(sample.id) + "\"><header>" + header + "</header>"
      + "<div class=\"sample-main\"><figure class=\"thumb\">" + image + "<figcaption class=\"mono\">" + esc(sample.image)
      + "</figcaption></figure><div>" + questionHtml + "<div class=\"answers\">" + answers + "</div>" + scoresHtml(sample)
      + "</div></div></article>";
  }

  // ------------------------------------------------------------ filters
  function searchText(sample) {
    if (texts[sample.id] === undefined) {
      var parts = [sample.id, sample.type, sample.split, sample.role, sample.other_role, sample.image, sample.system,
        sample.instruction, sample.reference];
      chosen.forEach(function (index) {
        var data = runs[index].data, answer = data.answers[sample.id];
        if (answer) { parts.push(answer.answer, answer.failure); }
        (data.reviews[sample.id] || []).forEach(function (review) { parts.push(review.text, review.error); });
      });
      texts[sample.id] = parts.join("\n").toLowerCase();
    }
    return texts[sample.id];
  }

  function matches(sample, query) {
    if (type.value && sample.type !== type.value) { return false; }
    if (split.value && sample.split !== split.value) { return false; }
    if (role.value && sample.role !== role.value) { return false; }
    if (failed.checked && !failedIn(sample).length) { return false; }
    return !query || searchText(sample).indexOf(query) !== -1;
  }

  function drawMore() {
    var next = matching.slice(drawn, drawn + config.page_size);
    list.insertAdjacentHTML("beforeend", next.map(cardHtml).join(""));
    drawn += next.length;
    var left = matching.length - drawn;
    more.hidden = left <= 0;
    more.textContent = "Show " + Math.min(left, config.page_size) + " more (" + left + " not shown)";
  }

  function apply() {
    if (samples === null || chosen.some(function (index) { return !runs[index].data; })) { return; }
    var query = search.value.trim().toLowerCase();
    matching = pool.filter(function (sample) { return matches(sample, query); });
    list.innerHTML = "";
    drawn = 0;
    drawMore();
    count.textContent = matching.length + " of " + pool.length + " samples";
  }

  function choose(indices) {
    chosen = indices;
    texts = {};
    pickers.forEach(function (box) { box.checked = indices.indexOf(Number(box.value) - 1) !== -1; });
    list.innerHTML = "";
    more.hidden = true;
    status.className = "note";
    status.hidden = false;
    if (!indices.length) {
      status.textContent = "Choose one or more runs above to browse their samples.";
      count.textContent = "no run chosen";
      return;
    }
    status.textContent = "Loading " + indices.map(function (index) { return runs[index].file; }).join(", ") + " …";
    ensureLoaded(indices, function (error) {
      if (chosen !== indices) { return; }  // another choice came in meanwhile; it draws itself
      if (error) {
        status.className = "note bad";
        status.textContent = error + " (the report_files folder must stay beside report.html).";
        return;
      }
      status.hidden = true;
      pool = samples.filter(function (sample) {
        return indices.some(function (index) { return runs[index].data.ids[sample.id]; });
      });
      apply();
    });
  }

  // The view lives in the URL hash (#runs=1,3&type=comment&role=Thor&q=stark&failed=1), so it can be shared.
  // Runs are numbered from 1 as on the page; without runs= the first run is shown, with an empty runs= none.
  function runsOf(params) {
    if (!params.has("runs")) { return [0]; }
    return params.get("runs").split(",").map(function (n) { return Number(n) - 1; })
      .filter(function (index, at, all) { return index >= 0 && index < runs.length && all.indexOf(index) === at; })
      .sort(function (a, b) { return a - b; });
  }

  function readHash() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    type.value = params.get("type") || "";
    split.value = params.get("split") || "";
    role.value = params.get("role") || "";
    search.value = params.get("q") || "";
    failed.checked = params.get("failed") === "1";
    return runsOf(params);
  }

  function writeHash() {
    var params = new URLSearchParams();
    if (chosen.join(",") !== "0") { params.set("runs", chosen.map(function (index) { return index + 1; }).join(",")); }
    if (type.value) { params.set("type", type.value); }
    if (split.value) { params.set("split", split.value); }
    if (role.value) { params.set("role", role.value); }
    if (search.value.trim()) { params.set("q", search.value.trim()); }
    if (failed.checked) { params.set("failed", "1"); }
    var hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : window.location.pathname + window.location.search);
  }

  function update() { apply(); writeHash(); }

  var timer = null;
  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 150); });
  [type, split, role, failed].forEach(function (control) { control.addEventListener("change", update); });
  more.addEventListener("click", drawMore);
  pickers.forEach(function (box) {
    box.addEventListener("change", function () {
      choose(pickers.filter(function (b) { return b.checked; }).map(function (b) { return Number(b.value) - 1; }));
      writeHash();
    });
  });
  window.addEventListener("hashchange", function () {
    var indices = readHash();
    if (indices.join(",") === chosen.join(",")) { apply(); } else { choose(indices); }
  });
  choose(readHash());
})();
