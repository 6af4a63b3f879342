// The sources panel opens when the reader clicks a citation or a source, never by itself.
// Chainlit 2.11 and later open it whenever an answer with side elements arrives (Chainlit issue #2979),
// titled with the last element's name and listing passages of earlier answers, and at phone width it
// covers the answer; a panel that appears without a click on a link just before is closed again.
(() => {
  const CLICK_WINDOW_MS = 1500;
  let clickedAt = 0;
  let wasOpen = false;
  document.addEventListener(
    "click",
    (event) => {
      if (event.target instanceof Element && event.target.closest("a")) clickedAt = Date.now();
    },
    true,
  );
  const check = () => {
    const title = document.getElementById("side-view-title");
    const opened = Boolean(title) && !wasOpen;
    wasOpen = Boolean(title);
    if (opened && Date.now() - clickedAt > CLICK_WINDOW_MS) {
      const close = title.querySelector("button");
      if (close) {
        close.click();
        wasOpen = false;
      }
    }
  };
  new MutationObserver(check).observe(document.documentElement, { childList: true, subtree: true });
})();
