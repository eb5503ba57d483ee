// Mounts the Atelier Copilot widget on the help page (public/embed.html).
// The server is fixed: the <meta name="atelier-server"> address when the page is hosted on
// another site, otherwise this page's own origin. Nothing is read from the URL, so a link
// cannot make this page load a script from somewhere else.
(function () {
  "use strict";
  const configured = document.querySelector('meta[name="atelier-server"]');
  const fixed = configured ? configured.getAttribute("content").trim() : "";
  const chainlitServer = fixed ? new URL(fixed).origin : window.location.origin;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error("Could not load " + src));
      document.head.appendChild(script);
    });
  }

  async function widgetToken() {
    // Single-user Atelier hands each visitor a widget token; with logins on, your own
    // server mints it.
    const response = await fetch(chainlitServer + "/atelier/copilot-token", {
      credentials: "include",
    });
    if (!response.ok) return undefined;
    return (await response.json()).token;
  }

  async function mount() {
    try {
      await loadScript(chainlitServer + "/copilot/index.js");
      const accessToken = await widgetToken();
      // Sign in before mounting: the widget loads its settings only once it knows its
      // user, and settings arriving after an answer is shown crash it (React error #310).
      if (accessToken) {
        await fetch(chainlitServer + "/auth/jwt", {
          method: "POST",
          credentials: "include",
          headers: { Authorization: "Bearer " + accessToken },
        });
      }
      window.mountChainlitWidget({
        chainlitServer,
        accessToken,
        theme: "light",
        // Marks the widget's requests: its settings carry no profile picker.
        additionalQueryParamsForAPI: { atelier_client: "widget" },
      });
    } catch (error) {
      document.getElementById("widget-status").textContent =
        "(The assistant is offline right now: " + error.message + ")";
    }
  }

  mount();
})();
