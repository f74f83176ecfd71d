// The Mini App's page: no framework, no build step, nothing from the internet.
// Telegram opens it with its launch parameters in the URL fragment:
// #tgWebAppData=<initData>&tgWebAppThemeParams=<JSON>&tgWebAppVersion=...
"use strict";

const launch = readLaunchParams();
const state = { page: 1, query: "", words: {}, searching: null, coverUrls: new Map() };
const $ = (id) => document.getElementById(id);

function readLaunchParams() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  let initData = fragment.get("tgWebAppData");
  let theme = fragment.get("tgWebAppThemeParams");
  // Kept for a reload in the same session (Telegram's own script does the same).
  try {
    if (initData) {
      sessionStorage.setItem("tgWebAppData", initData);
      if (theme) sessionStorage.setItem("tgWebAppThemeParams", theme);
    } else {
      initData = sessionStorage.getItem("tgWebAppData");
      theme = sessionStorage.getItem("tgWebAppThemeParams");
    }
  } catch (blocked) { /* storage off: the fragment is all there is */ }
  return { initData: initData || "", theme: parseTheme(theme) };
}

function parseTheme(text) {
  try {
    const theme = JSON.parse(text || "{}");
    return theme && typeof theme === "object" ? theme : {};
  } catch (malformed) {
    return {};
  }
}

// Telegram's theme as CSS variables (--tg-theme-bg-color, ...): colours only.
function applyTheme(theme) {
  for (const [name, value] of Object.entries(theme)) {
    if (/^[a-z_]{1,40}$/.test(name) && /^#[0-9a-fA-F]{6}$/.test(String(value))) {
      document.documentElement.style.setProperty(`--tg-theme-${name.replace(/_/g, "-")}`, value);
    }
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `tma ${launch.initData}`, Accept: "application/json" },
  });
  if (response.status === 401) throw new ApiError(word("unauthorized"), 401);
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : {};
  if (!response.ok) throw new ApiError(body.message || word("failed"), response.status);
  return body;
}

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

const FALLBACK_WORDS = {
  unauthorized: "Please open the catalog again from the bot's menu.",
  failed: "Could not reach the bookstore. Please try again in a moment.",
  loading: "Loading…",
};

function word(name) {
  return state.words[name] || FALLBACK_WORDS[name] || "";
}

function say(text) {
  $("status").textContent = text;
}

function fail(error) {
  say(error instanceof ApiError ? error.message : word("failed"));
}

async function loadWords() {
  const answer = await api("/app/api/words");
  state.words = answer.words;
  document.documentElement.lang = answer.language;
  document.title = word("title");
  for (const element of document.querySelectorAll("[data-word]")) {
    element.textContent = word(element.dataset.word);
  }
  const search = $("search");
  search.placeholder = word("search");
  search.setAttribute("aria-label", word("search"));
}

// A cover: the drawn one sent with the book (cover_image), else the API's image (fetched
// with the reader's initData), or the title in a box.
function cover(book) {
  const box = document.createElement("span");
  box.className = "cover";
  const fallback = document.createElement("span");
  fallback.className = "fallback";
  fallback.textContent = book.title;
  box.append(fallback);
  // A drawn cover after the tiles' first paint: drawing 30 of them takes a moment.
  const loaded = book.cover_image ? afterPaint().then(() => book.cover_image) : loadCover(book.cover);
  loaded.then((url) => {
    if (!url) return;
    const image = document.createElement("img");
    image.alt = "";
    image.src = url;
    // An image the browser cannot draw gives the title its place back.
    image.addEventListener("error", () => box.replaceChildren(fallback));
    box.replaceChildren(image);
  });
  return box;
}

function afterPaint() {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
}

async function loadCover(path) {
  if (state.coverUrls.has(path)) return state.coverUrls.get(path);
  try {
    const response = await fetch(path, { headers: { Authorization: `tma ${launch.initData}` } });
    if (!response.ok) return null;
    const url = URL.createObjectURL(await response.blob());
    state.coverUrls.set(path, url);
    return url;
  } catch (unreachable) {
    return null;
  }
}

function bookTile(book) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "card";
  button.dataset.bookId = book.id;
  const title = document.createElement("span");
  title.className = "card-title";
  title.textContent = book.title;
  const author = document.createElement("span");
  author.className = "card-author";
  author.textContent = book.author;
  const available = document.createElement("span");
  available.className = "card-available";
  available.textContent = book.available;
  button.append(cover(book), title, author, available);
  button.addEventListener("click", () => openBook(book.id));
  item.append(button);
  return item;
}

async function loadCatalog(append) {
  if (state.searching) state.searching.abort();
  const controller = new AbortController();
  state.searching = controller;
  const params = new URLSearchParams({ page: String(state.page) });
  if (state.query) params.set("q", state.query);
  if (!append) say(word("loading"));
  try {
    const found = await api(`/app/api/books?${params}`, { signal: controller.signal });
    if (controller !== state.searching) return;
    const grid = $("grid");
    if (!append) grid.replaceChildren();
    grid.append(...found.books.map(bookTile));
    say(found.total === 0 ? word(state.query ? "nothing" : "empty") : "");
    $("more").hidden = !(found.page < found.pages || found.more);
  } catch (error) {
    if (error.name !== "AbortError") fail(error);
  }
}

let typing = null;
function searchAsYouType() {
  clearTimeout(typing);
  typing = setTimeout(() => {
    state.query = $("search").value.trim().slice(0, 100);
    state.page = 1;
    loadCatalog(false);
  }, 250);
}

function show(section) {
  for (const name of ["catalog", "book", "mine"]) $(name).hidden = name !== section;
  $("tab-catalog").setAttribute("aria-pressed", String(section !== "mine"));
  $("tab-mine").setAttribute("aria-pressed", String(section === "mine"));
  $("search").hidden = section === "mine";
}

let shownBook = null;
let openedFrom = null;
async function openBook(bookId) {
  openedFrom = document.activeElement;
  say(word("loading"));
  try {
    renderBook(await api(`/app/api/books/${bookId}`));
    say("");
    show("book");
    $("back").focus();
  } catch (error) {
    fail(error);
  }
}

// Back to the grid, the focus on the book the reader opened (keyboard and screen readers).
function closeBook() {
  show("catalog");
  if (openedFrom && openedFrom.isConnected) openedFrom.focus();
  openedFrom = null;
}

function renderBook(book) {
  shownBook = book;
  $("book-cover").replaceWith(Object.assign(cover(book), { id: "book-cover" }));
  $("book-title").textContent = book.title;
  $("book-author").textContent = book.author;
  $("book-available").textContent = book.available;
  $("book-waiting").textContent = book.waiting;
  $("book-status").textContent = book.status;
  const button = $("book-action");
  button.hidden = !book.action;
  if (book.action) button.textContent = book.action.label;
}

async function act(action, bookId) {
  const path = action.kind === "reserve"
    ? `/app/api/books/${bookId}/reserve`
    : `/app/api/reservations/${action.reservation_id}/${action.kind}`;
  const answer = await api(path, { method: "POST" });
  say(answer.message);
  return answer;
}

async function bookAction() {
  if (!shownBook || !shownBook.action) return;
  const button = $("book-action");
  button.disabled = true;
  try {
    const answer = await act(shownBook.action, shownBook.id);
    if (answer.book) renderBook(answer.book);
    else renderBook(await api(`/app/api/books/${shownBook.id}`));
    say(answer.message);
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = false;
  }
}

async function openMine() {
  show("mine");
  say(word("loading"));
  try {
    renderReservations(await api("/app/api/reservations"));
  } catch (error) {
    fail(error);
  }
}

function renderReservations(page) {
  const list = $("reservations");
  list.replaceChildren();
  for (const reservation of page.reservations) {
    const item = document.createElement("li");
    item.textContent = reservation.text;
    if (reservation.action) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = reservation.action.label;
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          const answer = await act(reservation.action, reservation.book_id);
          renderReservations(answer.reservations);
          say(answer.message);
        } catch (error) {
          fail(error);
          button.disabled = false;
        }
      });
      item.append(document.createElement("br"), button);
    }
    list.append(item);
  }
  say(page.reservations.length === 0 ? word("no_reservations") : "");
}

function start() {
  applyTheme(launch.theme);
  $("search").addEventListener("input", searchAsYouType);
  $("more").addEventListener("click", () => {
    state.page += 1;
    loadCatalog(true);
  });
  $("back").addEventListener("click", closeBook);
  $("book-action").addEventListener("click", bookAction);
  $("tab-catalog").addEventListener("click", () => show("catalog"));
  $("tab-mine").addEventListener("click", openMine);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("book").hidden) closeBook();
  });
  if (!launch.initData) {
    say(word("unauthorized"));
    return;
  }
  loadWords().then(() => loadCatalog(false), fail);
}

document.addEventListener("DOMContentLoaded", start);
