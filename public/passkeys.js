// Passkeys in the browser: the only client code WebAuthn needs, loaded by /login and
// /profile alone (a few lines here rather than WebAuthn bindings in every page's WASM).
// The server does every check; this file carries bytes between it and
// navigator.credentials. Elements marked `passkey-only` stay hidden until it runs.
(() => {
  if (window.latchPasskeys || !window.PublicKeyCredential || !navigator.credentials) return;
  window.latchPasskeys = true;
  document.documentElement.classList.add("webauthn");

  const bytes = (b64url) => Uint8Array.from(atob(b64url.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const b64url = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  // A server function: form-encoded in, JSON out; a refusal's message is the one shown.
  async function call(name, fields) {
    const response = await fetch(`/api/${name}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams(fields),
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.message || `the server answered ${response.status}`);
    return body;
  }

  // What the browser itself refused, in words.
  function said(error) {
    if (error.name === "NotAllowedError") return "The passkey prompt was closed or timed out. Try again.";
    if (error.name === "InvalidStateError") return "This device already holds a passkey for your account.";
    if (error.name === "SecurityError") return "This browser refused passkeys for this address.";
    return error.message;
  }

  function show(form, message) {
    const out = form.querySelector("[data-passkey-error]");
    if (out) out.textContent = message;
  }

  async function add(form) {
    const fields = new FormData(form);
    const { ceremony, options } = await call("passkey_register_start", {
      name: fields.get("name") || "",
      password: fields.get("password") || "",
      code: fields.get("code") || "",
    });
    const { publicKey } = JSON.parse(options);
    publicKey.challenge = bytes(publicKey.challenge);
    publicKey.user.id = bytes(publicKey.user.id);
    (publicKey.excludeCredentials || []).forEach((c) => (c.id = bytes(c.id)));
    const created = await navigator.credentials.create({ publicKey });
    const credential = {
      id: created.id,
      rawId: b64url(created.rawId),
      type: created.type,
      response: {
        attestationObject: b64url(created.response.attestationObject),
        clientDataJSON: b64url(created.response.clientDataJSON),
        transports: created.response.getTransports ? created.response.getTransports() : undefined,
      },
      clientExtensionResults: created.getClientExtensionResults(),
    };
    await call("passkey_register_finish", { ceremony, credential: JSON.stringify(credential) });
    location.reload(); // the list on /profile, drawn by the server
  }

  async function signIn(form) {
    const { ceremony, options } = await call("passkey_login_start", {});
    const { publicKey } = JSON.parse(options);
    publicKey.challenge = bytes(publicKey.challenge);
    (publicKey.allowCredentials || []).forEach((c) => (c.id = bytes(c.id)));
    const got = await navigator.credentials.get({ publicKey });
    const credential = {
      id: got.id,
      rawId: b64url(got.rawId),
      type: got.type,
      response: {
        authenticatorData: b64url(got.response.authenticatorData),
        clientDataJSON: b64url(got.response.clientDataJSON),
        signature: b64url(got.response.signature),
        userHandle: got.response.userHandle ? b64url(got.response.userHandle) : null,
      },
      clientExtensionResults: got.getClientExtensionResults(),
    };
    await call("passkey_login_finish", { ceremony, credential: JSON.stringify(credential) });
    // The server already filtered `next`; the same rule again: one leading slash, no
    // backslash or control character a browser could read as another host.
    const next = form.querySelector("input[name=next]")?.value ?? "/";
    location.assign(/^\/(?![\/\\])[^\\\u0000-\u001f]*$/.test(next) ? next : "/");
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-passkey]");
    if (!form) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    show(form, "");
    try {
      await (form.dataset.passkey === "add" ? add(form) : signIn(form));
    } catch (error) {
      show(form, said(error));
    } finally {
      button.disabled = false;
    }
  });
})();
