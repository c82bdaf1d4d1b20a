// enseigne: shared helpers for pages (no inline scripts: the CSP forbids them).
"use strict";

window.enseigne = {
  /** The session's CSRF token, to send with any POST made from a script. */
  csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  },

  /** POST a JSON body to our API with the session cookie and CSRF header. */
  async postJSON(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrfToken() },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  },

  /** GET a JSON twin of a page (same URL under /api). */
  async getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  },
};
