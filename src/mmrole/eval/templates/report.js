// Per-sample browser: thumbnails from the inline JSON map, filters and search. No network, no libraries.
(function () {
  "use strict";
  var thumbnails = JSON.parse(document.getElementById("thumbnails").textContent || "[]");
  document.querySelectorAll("img[data-thumb]").forEach(function (img) {
    img.src = thumbnails[Number(img.getAttribute("data-thumb"))];
  });

  var cards = Array.prototype.slice.call(document.querySelectorAll("article.sample"));
  var byId = function (id) { return document.getElementById(id); };
  var type = byId("filter-type"), split = byId("filter-split"), role = byId("filter-role");
  var search = byId("filter-search"), failed = byId("filter-failed"), count = byId("sample-count");
  if (!count) { return; }
  var texts = null;  // lower-cased card texts, built on the first search

  function matches(card, index, query) {
    if (type.value && card.getAttribute("data-type") !== type.value) { return false; }
    if (split.value && card.getAttribute("data-split") !== split.value) { return false; }
    if (role.value && card.getAttribute("data-role") !== role.value) { return false; }
    if (failed.checked && card.getAttribute("data-failed") !== "1") { return false; }
    return !query || texts[index].indexOf(query) !== -1;
  }

  function apply() {
    var query = search.value.trim().toLowerCase();
    if (query && texts === null) {
      texts = cards.map(function (card) { return card.textContent.toLowerCase(); });
    }
    var shown = 0;
    cards.forEach(function (card, index) {
      var visible = matches(card, index, query);
      card.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + cards.length + " samples";
  }

  // Filters live in the URL hash (#type=comment&role=Thor&q=stark&failed=1), so a view can be shared.
  function readHash() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    type.value = params.get("type") || "";
    split.value = params.get("split") || "";
    role.value = params.get("role") || "";
    search.value = params.get("q") || "";
    failed.checked = params.get("failed") === "1";
  }

  function writeHash() {
    var params = new URLSearchParams();
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
  window.addEventListener("hashchange", function () { readHash(); apply(); });
  readHash();
  apply();
})();
