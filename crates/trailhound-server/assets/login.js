"use strict";
// Trades the token for a session cookie; the token itself is not kept by the page.
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  error.textContent = "";
  const token = document.getElementById("token").value.trim();
  try {
    const response = await fetch("/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ token }),
    });
    if (response.ok) {
      window.location.assign("/#/overview");
      return;
    }
    const body = await response.json().catch(() => ({}));
    error.textContent = body.message || `Login failed (${response.status})`;
  } catch (err) {
    error.textContent = `The server cannot be reached: ${err}`;
  }
});
