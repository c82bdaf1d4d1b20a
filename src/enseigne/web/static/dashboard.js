// The network dashboard: the period picker and the sortable KPI table.
// Loaded as a file (the CSP forbids inline scripts); the page works without it, sorted by
// region and code, with every field of the picker shown.
"use strict";

(() => {
  /** Show the value field that fits the chosen kind, filled for the same place in time. */
  function setUpPicker() {
    const kind = document.getElementById("kind");
    const value = document.getElementById("period-value");
    if (!kind || !value) return;
    const values = JSON.parse(value.dataset.values || "{}");
    const types = JSON.parse(value.dataset.types || "{}");
    const fields = document.querySelectorAll(".period-picker [data-kinds]");
    const show = (chosen, fill) => {
      for (const field of fields) {
        const shown = field.dataset.kinds.split(" ").includes(chosen);
        field.hidden = !shown;
        // A hidden field is not sent: the URL keeps only what was chosen.
        for (const input of field.querySelectorAll("input")) input.disabled = !shown;
      }
      if (chosen === "custom") return;
      value.type = types[chosen] || "text";
      if (fill) value.value = values[chosen] || "";
    };
    kind.addEventListener("change", () => show(kind.value, true));
    show(kind.value, false);
  }

  /** Sort buttons in the column headers; rows sorted within their region, or across all. */
  function setUpTable() {
    const table = document.getElementById("kpi-table");
    if (!table || !table.tHead) return;
    const flat = document.getElementById("flat-sort");
    const status = document.getElementById("sort-status");
    const collator = new Intl.Collator(table.dataset.lang || "fr", { numeric: true });
    const [top, second] = table.tHead.rows;
    // The i-th header is the i-th cell of a store row: the store, then 4 cells per KPI.
    const headers = [top.cells[0], ...second.cells];
    const groups = [...table.tBodies].filter((body) => body.classList.contains("group"));
    const isStore = (row) => row.classList.contains("store");
    const allRows = groups.flatMap((body) => [...body.rows].filter(isStore));
    allRows.forEach((row, i) => { row.dataset.order = String(i); });
    const flatBody = document.createElement("tbody");
    flatBody.className = "flat";
    flatBody.hidden = true;
    table.tBodies[0].after(flatBody);
    let current = null; // { index, direction }

    const key = (row, index) => {
      const raw = row.cells[index] ? row.cells[index].dataset.value : "";
      if (raw === undefined || raw === "") return null;
      return index === 0 ? raw : Number(raw);
    };
    const byOrder = (a, b) => Number(a.dataset.order) - Number(b.dataset.order);
    const compare = (a, b) => {
      if (!current) return byOrder(a, b);
      const x = key(a, current.index);
      const y = key(b, current.index);
      if (x === null || y === null) { // no value: last, whatever the direction
        return x === y ? byOrder(a, b) : (x === null ? 1 : -1);
      }
      const order = current.index === 0 ? collator.compare(x, y) : x - y;
      return (current.direction === "ascending" ? order : -order) || byOrder(a, b);
    };

    const arrange = () => {
      const rows = [...allRows].sort(compare);
      if (flat && flat.checked) {
        flatBody.append(...rows);
      } else {
        for (const row of rows) {
          const body = groups.find((g) => g.dataset.group === row.dataset.group);
          body.insertBefore(row, body.querySelector("tr.subtotal"));
        }
      }
      const flattened = Boolean(flat && flat.checked);
      flatBody.hidden = !flattened;
      for (const body of groups) body.hidden = flattened;
    };

    headers.forEach((th, index) => {
      const button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", () => {
        const again = current && current.index === index;
        const direction = again
          ? (current.direction === "ascending" ? "descending" : "ascending")
          : (th.dataset.first || "descending");
        current = { index, direction };
        for (const header of headers) header.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", direction);
        arrange();
        const template = direction === "ascending"
          ? table.dataset.sortedAscending : table.dataset.sortedDescending;
        if (status && template) {
          status.textContent = template.replace("{column}", button.textContent.trim());
        }
      });
    });
    if (flat) {
      flat.addEventListener("change", arrange);
      flat.closest(".table-tools").hidden = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpPicker();
    setUpTable();
  });
})();
