// Atelier: what answers a click lands in view.
// Chainlit scrolls new messages into view only while the chat is scrolled to the bottom; a
// button under an earlier image (Refine this, Lineage, Bill) or the settings' Confirm is
// usually pressed higher up, so its reply ("Refining image ...", a refusal) arrived out of
// sight. For a few seconds after such a click, each new message is scrolled into view.
(() => {
  const WINDOW_MS = 4000;
  let clickedAt = 0;
  document.addEventListener(
    "click",
    (event) => {
      const button = event.target instanceof Element ? event.target.closest("button") : null;
      if (button && button.id !== "chat-submit") clickedAt = Date.now();
    },
    true,
  );
  new MutationObserver((records) => {
    if (Date.now() - clickedAt > WINDOW_MS) return;
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (!(node instanceof Element)) continue;
        const step = node.matches("[data-step-type]") ? node : node.querySelector("[data-step-type]");
        if (step) step.scrollIntoView({ block: "nearest" });
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
})();
