/* Passkeys (WebAuthn) on Signet's pages: register one, sign in with one, or use one as a second factor.
 *
 * Loaded with <script src> (the Content-Security-Policy allows scripts from Signet only, and no inline
 * handlers). Each feature starts from an element carrying data-passkey-* attributes that give the
 * endpoints, the CSRF token and the translated messages; without JavaScript or WebAuthn they stay hidden.
 * The server's answers are JSON: {"error", "message"} on failure, {"redirect"} after a sign-in.
 */
(function () {
  "use strict";
  if (window.signetPasskeys) return; // two partials on one page load this file once in effect
  window.signetPasskeys = true;

  // --- base64url <-> ArrayBuffer (WebAuthn's JSON serialisation) --------------------------------
  function toBuffer(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var padded = base64 + "===".slice((base64.length + 3) % 4);
    var binary = atob(padded);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return Object.assign({}, d, { id: toBuffer(d.id) });
    });
  }

  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: toBuffer(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      allowCredentials: descriptors(json.allowCredentials),
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try {
        return credential.toJSON();
      } catch (e) {
        /* fall through to the manual serialisation */
      }
    }
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: response,
    };
  }

  // --- talking to Signet -----------------------------------------------------------------------
  function post(root, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(
        function (json) {
          if (!response.ok) {
            throw { message: json.message || root.dataset.msgFailed, error: json.error, reauthUrl: json.reauth_url };
          }
          return json;
        },
        function () {
          throw { message: root.dataset.msgFailed };
        }
      );
    });
  }

  function say(root, message, isError) {
    var out = root.querySelector("[data-passkey-status]");
    if (!out) return;
    out.textContent = message || "";
    out.classList.toggle("alert", !!isError && !!message);
    out.setAttribute("role", isError ? "alert" : "status");
  }

  // A browser refusal (the person cancelled, or the passkey is not on this device) gets its own words.
  function browserError(root, error) {
    if (error && error.name === "NotAllowedError") return root.dataset.msgCancelled;
    if (error && error.name === "InvalidStateError") return root.dataset.msgExists;
    if (error && error.name === "AbortError") return null;
    return (error && error.message) || root.dataset.msgFailed;
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials);
  }

  function reveal(root) {
    root.hidden = false;
    root.querySelectorAll("[data-passkey-needs-js]").forEach(function (el) {
      el.hidden = false;
    });
  }

  // --- registering a passkey (the account security page) --------------------------------------
  function setUpRegister(root) {
    var form = root.querySelector("form[data-passkey-register]");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var name = form.querySelector("input[name=name]");
      button.disabled = true;
      say(root, root.dataset.msgWorking, false);
      post(root, root.dataset.registerOptionsUrl)
        .then(function (options) {
          return navigator.credentials.create({ publicKey: creationOptions(options) });
        })
        .then(function (credential) {
          return post(root, root.dataset.registerUrl, {
            credential: credentialJSON(credential),
            name: name ? name.value : "",
          });
        })
        .then(function () {
          window.location.assign(root.dataset.doneUrl);
        })
        .catch(function (error) {
          if (error && error.error === "reauthentication_required" && error.reauthUrl) {
            window.location.assign(error.reauthUrl);
            return;
          }
          say(root, error && error.name ? browserError(root, error) : error.message, true);
          button.disabled = false;
        });
    });
  }

  // --- signing in (login page: passkey alone; second-factor page: the pending user's passkey) ------
  function setUpAssertion(root) {
    var button = root.querySelector("button[data-passkey-start]");
    var pending = null; // the conditional (autofill) request, aborted when the button is used
    // Settles once the autofill request has its options: the server keeps one sign-in challenge per
    // session, so the button's options must be asked for after it, never overtaken by it.
    var conditionalAsked = Promise.resolve();

    function assert(mediation, asked) {
      var controller = new AbortController();
      if (mediation === "conditional") pending = controller;
      var ask = root.dataset.userVerification ? { userVerification: root.dataset.userVerification } : {};
      var options = post(root, root.dataset.optionsUrl, ask);
      if (asked) asked(options);
      return options
        .then(function (options) {
          if (controller.signal.aborted) throw { name: "AbortError" };
          var request = { publicKey: requestOptions(options), signal: controller.signal };
          if (mediation) request.mediation = mediation;
          var asking = navigator.credentials.get(request);
          // Marks the autofill request as waiting in the browser: page scripts and tests can tell
          // "not asked yet" from "asked and waiting for the user".
          if (mediation === "conditional") root.dataset.autofill = "waiting";
          return asking;
        })
        .then(function (credential) {
          pending = null;
          if (button) button.disabled = true;
          say(root, root.dataset.msgWorking, false);
          return post(root, root.dataset.url, { credential: credentialJSON(credential), next: root.dataset.next });
        })
        .then(function (answer) {
          window.location.assign(answer.redirect);
        })
        .catch(function (error) {
          if (button) button.disabled = false;
          var message = error && error.name ? browserError(root, error) : error && error.message;
          if (message) say(root, message, true);
        });
    }

    if (button) {
      button.addEventListener("click", function () {
        if (pending) {
          pending.abort();
          pending = null;
        }
        say(root, "", false);
        conditionalAsked.then(function () {
          assert(null);
        });
      });
    }
    if (root.dataset.conditional === "true" && PublicKeyCredential.isConditionalMediationAvailable) {
      conditionalAsked = PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) return null;
        return new Promise(function (settled) {
          assert("conditional", function (options) {
            options.then(settled, settled);
          });
        });
      }).catch(function () {
        return null; // no autofill: the button still works
      });
      holdFormsUntil(conditionalAsked);
    }
  }

  // The autofill request's options answer may start a session (it keeps the sign-in challenge) and
  // so set the session cookie. Arriving after the password sign-in's own answer, that cookie would
  // replace the signed-in session's: the person would be signed out at their next click. So the
  // password form (data-passkey-waits) is sent once the options have arrived, or after 5 s at most.
  function holdFormsUntil(asked) {
    var settled = false;
    var done = function () {
      settled = true;
    };
    asked.then(done, done);
    document.querySelectorAll("form[data-passkey-waits]").forEach(function (form) {
      var sending = false;
      form.addEventListener("submit", function (event) {
        if (settled) return;
        event.preventDefault();
        if (sending) return;
        sending = true;
        var send = function () {
          form.submit(); // fires no submit event: this handler does not run again
        };
        Promise.race([asked, new Promise(function (later) { setTimeout(later, 5000); })]).then(send, send);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-passkey]").forEach(function (root) {
      if (!supported()) {
        say(root, root.dataset.msgUnsupported, false);
        return;
      }
      reveal(root);
      if (root.dataset.passkey === "register") setUpRegister(root);
      else setUpAssertion(root);
    });
  });
})();
