// The playground's web chat: plain JavaScript, no build step.
"use strict";

const ALLOWED_TAGS = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL",
  "CODE", "PRE", "A"]);
const state = { personas: [], active: null, names: {}, messages: {}, bot: "", languages: [],
  inlineQuery: null, menus: null, menuButtons: {} };
const $ = (id) => document.getElementById(id);
const LANGUAGE_NAMES = { en: "English", ru: "Русский", es: "Español" };

function element(tag, properties = {}, children = []) {
  const node = Object.assign(document.createElement(tag), properties);
  for (const child of children) node.append(child);
  return node;
}

// The bot's HTML (Telegram's small subset), rebuilt node by node: only allowed tags survive,
// every text goes in as text, links only to http(s) or tg: addresses.
function safeHtml(source) {
  const parsed = new DOMParser().parseFromString(`<body>${source}</body>`, "text/html");
  const copy = (from, into) => {
    for (const node of from.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        into.append(node.textContent);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (!ALLOWED_TAGS.has(node.tagName)) { copy(node, into); continue; }
        const clean = document.createElement(node.tagName.toLowerCase());
        const href = node.getAttribute("href") || "";
        if (node.tagName === "A" && /^(https?:|tg:)/i.test(href)) {
          clean.href = href; clean.rel = "noopener noreferrer"; clean.target = "_blank";
        }
        copy(node, clean);
        into.append(clean);
      }
    }
  };
  const fragment = document.createDocumentFragment();
  copy(parsed.body, fragment);
  return fragment;
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) });
  const answer = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) { toast(state.active, answer.error || "refused"); return null; }
  return answer;
}

const persona = (id) => state.personas.find((p) => p.id === id);

function conversation(chatId) {
  let box = $(`chat-${chatId}`);
  if (!box) {
    box = element("div", { id: `chat-${chatId}`, className: "conversation", role: "log" });
    box.setAttribute("aria-label", `Chat of ${state.names[chatId] || chatId}`);
    box.hidden = chatId !== state.active;
    $("chats").append(box);
  }
  return box;
}

function drawMessage(chatId, message) {
  const box = conversation(chatId);
  const node = element("div", { className: message.from_bot ? "message" : "message mine" });
  node.dataset.id = message.id;
  // A photo is shown as the picture it is; a document is a link that downloads it.
  if (message.photo) {
    node.classList.add("photo");
    node.append(element("img", { src: message.photo, alt: "Photo from the bot", loading: "lazy" }));
  }
  if (message.document) {
    const link = element("a", { className: "document", href: message.document.url,
      download: message.document.name, textContent: `📎 ${message.document.name}` });
    link.setAttribute("aria-label", `Download ${message.document.name}`);
    node.append(link);
  }
  if (message.via_bot) {
    node.append(element("div", { className: "via", textContent: `via @${message.via_bot}` }));
  }
  if (message.text) {
    const body = element("div", { className: "text" });
    body.append(message.html ? safeHtml(message.text) : message.text);
    node.append(body);
  }
  if (message.edited) node.append(element("span", { className: "edited", textContent: "edited" }));
  if (message.buttons.length) {
    const keyboard = element("div", { className: "keyboard" });
    for (const row of message.buttons) {
      keyboard.append(element("div", { className: "row" }, row.map((button) => button.url
        ? urlButton(chatId, button)
        : button.web_app ? element("button", {
          type: "button", className: "web-app", textContent: button.text,
          onclick: () => openWebApp(chatId, button.web_app, button.text),
        })
        : element("button", {
          type: "button", textContent: button.text,
          onclick: () => post("/api/press", { persona: chatId, message_id: message.id, data: button.data }),
        }))));
    }
    node.append(keyboard);
  }
  const existing = box.querySelector(`.message[data-id="${message.id}"]`);
  if (existing) existing.replaceWith(node); // an edit: in place, as Telegram shows it
  else { box.append(node); if (chatId !== state.active) markUnread(chatId); }
  if (chatId === state.active) { $("chats").scrollTop = $("chats").scrollHeight; showStart(); }
}

// An empty chat offers Start, as Telegram does; it sends /start and is gone once the
// chat has a message.
function showStart() {
  $("start").hidden = state.active == null || Boolean(persona(state.active)?.blocked)
    || conversation(state.active).querySelector(".message") !== null;
}

// The active persona's Telegram app: its language, and whether they blocked the bot
// (then, as in Telegram, an Unblock bar instead of the composer).
function drawTools() {
  const chosen = persona(state.active);
  if (!chosen) return;
  $("language").value = chosen.language;
  $("block").textContent = chosen.blocked ? "Unblock bot" : "Block bot";
  $("block").setAttribute("aria-pressed", String(chosen.blocked));
  $("composer").hidden = chosen.blocked;
  $("blocked-bar").hidden = !chosen.blocked;
  if (chosen.blocked) closeInline();
  showStart();
}

async function setBlocked(blocked) {
  const chosen = persona(state.active);
  if (await post("/api/block", { persona: chosen.id, blocked })) {
    chosen.blocked = blocked;
    drawTools();
    (blocked ? $("unblock") : $("text")).focus();
  }
}

// Inline mode: "@bot query" in the composer asks the bot as you type; its results are
// listed above the composer, and picking one sends its message, via the bot.
let inlineTimer = null;
// queries asked so far, and results that came before their query's id did
let inlineAsked = 0;
const inlineAnswers = new Map();
function inlineQueryOf(text) {
  const prefix = `@${state.bot}`;
  if (!state.bot || !text.toLowerCase().startsWith(prefix.toLowerCase())) return null;
  const rest = text.slice(prefix.length);
  if (rest !== "" && !/^\s/.test(rest)) return null;
  return rest.trim();
}

function closeInline() {
  state.inlineQuery = null;
  inlineAsked += 1; // a query still under way no longer counts
  inlineAnswers.clear();
  $("inline-results").hidden = true;
  $("inline-results").replaceChildren();
}

function askInline() {
  clearTimeout(inlineTimer);
  const query = inlineQueryOf($("text").value);
  if (query === null) { closeInline(); return; }
  const chatId = state.active;
  inlineTimer = setTimeout(async () => {
    const asked = ++inlineAsked;
    const answer = await post("/api/inline", { persona: chatId, query });
    // Only the latest query counts; the bot's results may have come before this answer.
    if (!answer || asked !== inlineAsked || chatId !== state.active) return;
    state.inlineQuery = answer.query_id;
    const early = inlineAnswers.get(answer.query_id);
    inlineAnswers.clear();
    if (early) drawInline(early);
  }, 250);
}

function drawInline(event) {
  if (event.chat_id !== state.active) return;
  if (event.query_id !== state.inlineQuery) {
    // Perhaps the answer to a query whose id the page is still waiting for: kept for it.
    if (inlineAsked) inlineAnswers.set(event.query_id, event);
    return;
  }
  const list = $("inline-results");
  // A result chosen by keyboard keeps the focus when newer results replace the list.
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.id : null;
  list.replaceChildren(...event.results.map((result) => element("li", {}, [
    element("button", { type: "button", onclick: () => chooseInline(event.query_id, result.id) }, [
      element("b", { textContent: result.title }),
      element("small", { textContent: result.description }),
    ]),
  ])));
  list.querySelectorAll("button").forEach((button, at) => {
    button.dataset.id = event.results[at].id;
    if (focused !== null && button.dataset.id === focused) button.focus();
  });
  if (focused !== null && !list.contains(document.activeElement)) $("text").focus();
  if (!event.results.length) list.append(element("li", { textContent: "No results" }));
  list.hidden = false;
}

async function chooseInline(queryId, resultId) {
  const chatId = state.active;
  closeInline();
  $("text").value = "";
  $("text").focus();
  await post("/api/choose", { persona: chatId, query_id: queryId, result_id: resultId });
}

// A URL button: a link into the bot (t.me/<bot>?start=…) starts it here, as Telegram
// would; any other http(s) address opens in a new tab; anything else is shown, inert.
function urlButton(chatId, button) {
  const start = button.url.match(/^https:\/\/t\.me\/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{1,64})$/);
  if (start && start[1] === state.bot) {
    return element("button", { type: "button", textContent: button.text,
      onclick: () => post("/api/send", { persona: chatId, text: `/start ${start[2]}` }) });
  }
  if (/^https?:/i.test(button.url)) {
    return element("a", { href: button.url, textContent: button.text, target: "_blank",
      rel: "noopener noreferrer" });
  }
  return element("button", { type: "button", textContent: button.text, disabled: true });
}

function toast(chatId, text) {
  if (!text || chatId == null) return;
  const note = element("div", { className: "toast", role: "status", textContent: text });
  conversation(chatId).append(note);
  setTimeout(() => note.remove(), 6000);
}

function markUnread(chatId) {
  const badge = document.querySelector(`nav button[data-persona="${chatId}"] .badge`);
  badge.hidden = false;
  badge.textContent = String(Number(badge.textContent || 0) + 1);
}

function choose(personaId) {
  state.active = personaId;
  for (const button of $("personas").children) {
    const chosen = Number(button.dataset.persona) === personaId;
    button.setAttribute("aria-pressed", String(chosen));
    if (chosen) { const badge = button.querySelector(".badge"); badge.hidden = true; badge.textContent = ""; }
  }
  for (const box of $("chats").children) box.hidden = box.id !== `chat-${personaId}`;
  conversation(personaId);
  $("staff-hint").hidden = persona(personaId).role !== "staff";
  $("chats").scrollTop = $("chats").scrollHeight;
  closeInline();
  drawTools();
  if (state.menus) drawMenu(state.menus[personaId] || []);
  drawMenuButton();
  if (Number($("web-app-panel").dataset.persona) !== personaId) closeWebApp();
}

function drawCall(call) {
  const who = call.chat_id == null ? "" : ` → ${state.names[call.chat_id] || call.chat_id}`;
  const line = element("li", { className: call.ok ? "" : "refused" }, [
    element("span", { className: "method", textContent: call.method }),
    `${who}: ${call.detail}`,
  ]);
  $("calls").prepend(line);
  while ($("calls").children.length > 200) $("calls").lastChild.remove();
}

function drawOutbox(outbox) {
  const counts = outbox.counts;
  $("outbox-counts").textContent =
    `pending ${counts.pending || 0} · sent ${counts.sent || 0} · failed ${counts.failed || 0}`;
  $("outbox-rows").replaceChildren(...outbox.latest.map((row) => element("li", {}, [
    `#${row.id} to ${state.names[row.chat_id] || row.chat_id}: `,
    element("span", { className: `status-${row.status}`, textContent: row.status }),
    row.attempts ? ` (${row.attempts} attempts)` : "",
    row.last_error ? ` ${row.last_error}` : "",
  ])));
}

function drawMenu(commands) {
  $("menu").replaceChildren(...commands.map((command) => element("button", {
    type: "button", role: "menuitem",
    onclick: () => { closeMenu(); $("text").value = `/${command.command} `; $("text").focus(); },
  }, [element("b", { textContent: `/${command.command}` }), ` ${command.description}`])));
  $("menu-button").hidden = commands.length === 0;
}

// The persona's menu button, when the bot made it open a Mini App (setChatMenuButton).
function drawMenuButton() {
  const button = state.menuButtons[state.active] || { type: "commands" };
  const opens = button.type === "web_app";
  $("web-app-button").hidden = !opens;
  if (opens) {
    $("web-app-button").textContent = button.text;
    $("web-app-button").onclick = () => openWebApp(state.active, button.web_app.url, button.text);
  }
}

// A Mini App in a panel, as Telegram's app opens it: the playground's Bot API signs the
// persona's initData and puts it in the address's fragment.
async function openWebApp(personaId, url, title) {
  const answer = await post("/api/web_app", { persona: personaId, url });
  if (!answer) return;
  $("web-app-title").textContent = title;
  $("web-app-frame").src = answer.url;
  $("web-app-panel").hidden = false;
  $("web-app-panel").dataset.persona = personaId;
  $("web-app-frame").focus();
}

function closeWebApp() {
  if ($("web-app-panel").hidden) return;
  $("web-app-panel").hidden = true;
  $("web-app-frame").src = "about:blank";
  $("text").focus();
}

function closeMenu() { $("menu").hidden = true; $("menu-button").setAttribute("aria-expanded", "false"); }

async function load() {
  const current = await (await fetch("/api/state")).json();
  state.personas = current.personas;
  state.bot = current.bot_username;
  state.languages = current.languages;
  $("language").replaceChildren(...current.languages.map((code) =>
    element("option", { value: code, textContent: LANGUAGE_NAMES[code] || code })));
  for (const persona of current.personas) state.names[persona.id] = persona.name;
  $("personas").replaceChildren(...current.personas.map((persona) => {
    const button = element("button", { type: "button", onclick: () => choose(persona.id) },
      [`${persona.name} (${persona.role})`, element("span", { className: "badge", hidden: true })]);
    button.dataset.persona = persona.id;
    return button;
  }));
  $("chats").replaceChildren();
  choose(state.active ?? current.personas[0].id);
  for (const [chatId, messages] of Object.entries(current.chats)) {
    for (const message of messages) drawMessage(Number(chatId), message);
  }
  for (const persona of current.personas) {
    const badge = document.querySelector(`nav button[data-persona="${persona.id}"] .badge`);
    badge.hidden = true; badge.textContent = "";
  }
  showStart();
  $("calls").replaceChildren();
  current.calls.forEach(drawCall);
  drawOutbox(current.outbox);
  state.menus = current.menus;
  drawMenu(state.menus[state.active] || []);
  state.menuButtons = current.menu_buttons;
  drawMenuButton();
}

function listen() {
  const events = new EventSource("/api/events");
  events.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (data.kind === "message") drawMessage(data.chat_id, data.message);
    else if (data.kind === "call") {
      drawCall(data.call);
      if (data.call.method === "answerCallbackQuery") toast(data.call.chat_id, data.call.text);
      if (["setMyCommands", "setChatMenuButton"].includes(data.call.method)) load();
    } else if (data.kind === "inline") drawInline(data);
    else if (data.kind === "blocked") {
      const chosen = persona(data.chat_id);
      if (chosen) { chosen.blocked = data.blocked; if (data.chat_id === state.active) drawTools(); }
    } else if (data.kind === "outbox") drawOutbox(data.outbox);
    else if (data.kind === "reset") load();
  };
  events.onopen = () => { document.body.dataset.live = "true"; };
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  $("text").value = "";
  closeInline();
  post("/api/send", { persona: state.active, text });
});
$("text").addEventListener("input", askInline);
// By keyboard: the arrow keys move from the composer through the inline results.
$("text").addEventListener("keydown", (event) => {
  const results = [...$("inline-results").querySelectorAll("button")];
  if (event.key === "ArrowUp" && !$("inline-results").hidden && results.length) {
    event.preventDefault();
    results.at(-1).focus();
  }
});
$("inline-results").addEventListener("keydown", (event) => {
  const results = [...$("inline-results").querySelectorAll("button")];
  const at = results.indexOf(document.activeElement);
  if (at < 0 || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
  event.preventDefault();
  const next = at + (event.key === "ArrowUp" ? -1 : 1);
  if (next >= results.length) $("text").focus();
  else results[Math.max(0, next)].focus();
});
$("language").addEventListener("change", async () => {
  const chosen = persona(state.active);
  const language = $("language").value;
  const answer = await post("/api/language", { persona: chosen.id, language });
  if (answer) {
    chosen.language = language;
    state.menus[chosen.id] = answer.menu;
    if (chosen.id === state.active) drawMenu(answer.menu);
  } else $("language").value = chosen.language;
});
$("block").addEventListener("click", () => setBlocked(!persona(state.active).blocked));
$("unblock").addEventListener("click", () => setBlocked(false));
$("start").addEventListener("click", () => {
  $("start").hidden = true;
  post("/api/send", { persona: state.active, text: "/start" });
  $("text").focus();
});
$("menu-button").addEventListener("click", () => {
  const open = $("menu").hidden;
  $("menu").hidden = !open;
  $("menu-button").setAttribute("aria-expanded", String(open));
  if (open) $("menu").querySelector("button")?.focus();
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("menu").hidden) { closeMenu(); $("menu-button").focus(); }
  else if (event.key === "Escape" && !$("inline-results").hidden) { closeInline(); $("text").focus(); }
  else if (event.key === "Escape" && !$("web-app-panel").hidden) closeWebApp();
});
$("web-app-close").addEventListener("click", closeWebApp);
$("reset").addEventListener("click", () => {
  if (confirm("Forget every chat and load the sample catalog again?")) post("/api/reset", {});
});

listen();
load();
