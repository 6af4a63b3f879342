// Keeps the message box closed, and says so, until the chat is ready.
// Chainlit's page shows the box before its session is open and before the chat has started, and a
// question sent in that moment is dropped without a word; so the box waits until the app has
// finished starting the chat (the end of the first task the socket reports).
(() => {
  const WAITING = {
    bg: "Чатът се подготвя, момент…",
    ru: "Чат готовится, минуту…",
    en: "Starting the chat, one moment…",
  };
  const waitingText = WAITING[(navigator.language || "en").slice(0, 2)] || WAITING.en;
  let open = false;

  const apply = () => {
    const box = document.querySelector("#chat-input");
    if (!box) return;
    if (!open && !box.disabled) {
      box.dataset.placeholder = box.getAttribute("placeholder") || "";
      box.setAttribute("placeholder", waitingText);
      box.disabled = true;
    } else if (open && box.disabled && box.dataset.placeholder !== undefined) {
      box.setAttribute("placeholder", box.dataset.placeholder);
      delete box.dataset.placeholder;
      box.disabled = false;
    }
  };

  const NativeWebSocket = window.WebSocket;
  class WatchedWebSocket extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes("/ws/socket.io")) return;
      open = false;
      apply();
      let started = false;
      this.addEventListener("message", (event) => {
        const data = typeof event.data === "string" ? event.data : "";
        started ||= data.startsWith('42["task_start"');
        if (!open && started && data.startsWith('42["task_end"')) {
          open = true;
          apply();
        }
      });
      this.addEventListener("close", () => {
        open = false;
        apply();
      });
    }
  }
  window.WebSocket = WatchedWebSocket;
  new MutationObserver(apply).observe(document.documentElement, { childList: true, subtree: true });
})();

// Chainlit loads one custom script: this one brings the sources panel's behaviour with it.
(() => {
  const script = document.createElement("script");
  script.src = "/public/side-panel.js";
  document.head.append(script);
})();
