// enseigne: the profile's "possible duplicates", filled from the duplicates page's JSON
// twin (the page itself stays one link away when scripts are off).
"use strict";

(function () {
  function describe(pair, labels, lang) {
    const score = new Intl.NumberFormat(lang, { style: "percent" }).format(pair.score);
    const reasons = pair.reasons.map((r) => labels[r] || r).join(", ");
    return ` ${score} · ${labels[pair.strength] || pair.strength} — ${reasons}`;
  }

  function fill(box, data) {
    const labels = JSON.parse(box.querySelector(".duplicate-labels").textContent);
    const lang = document.documentElement.lang || "fr";
    const list = box.querySelector(".duplicate-list");
    if (!data.candidates.length) {
      box.querySelector(".no-duplicates").hidden = false;
      return;
    }
    for (const pair of data.candidates) {
      const other = pair.ref_a === box.dataset.ref ? pair.b : pair.a;
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "/customers/" + encodeURIComponent(other.customer_ref);
      link.textContent = [other.last_name, other.first_name].filter(Boolean).join(" ")
        || other.customer_ref;
      const ref = document.createElement("span");
      ref.className = "muted";
      ref.textContent = " " + other.customer_ref;
      item.append(link, ref, describe(pair, labels, lang));
      list.append(item);
    }
    list.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    const box = document.querySelector("[data-duplicates-url]");
    if (!box) return;
    fetch(box.dataset.duplicatesUrl, { headers: { Accept: "application/json" } })
      .then((answer) => (answer.ok ? answer.json() : null))
      .then((data) => { if (data) fill(box, data); })
      .catch(() => {});
  });
})();
