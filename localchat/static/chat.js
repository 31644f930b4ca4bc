// The local chat page: join, read the chat, tap buttons, send texts, photos, files and
// the phone. Messages arrive as HTML already made safe by the server; everything this
// script builds itself goes through textContent.
"use strict";

const TEXTS = {
  zh: {
    title: "小安 · 校园消防安全", typing: "正在输入…", join_title: "加入小安",
    join_intro: "输入你的姓名和邀请码（邀请链接会自动填好邀请码）。", name: "姓名",
    code: "邀请码", join: "加入", ok: "好的", message: "消息", send: "发送",
    menu: "命令菜单", menu_label: "菜单", camera: "拍照", attach: "发送文件", phone_placeholder: "手机号",
    share_phone: "📱 分享我的手机号", share_phone_send: "发送手机号",
    name_needed: "请填写姓名。", too_large: "文件太大（最大 {mb} MB）。",
    failed: "发送失败，请重试。", offline: "连接中断，正在重连…", no_commands: "暂无命令",
    bad_phone: "请输入正确的手机号。", download: "下载", uploading: "正在上传…",
    slow_down: "操作太频繁，请 {s} 秒后再试。", too_many_joins: "加入次数太多，请 {s} 秒后再试。",
    cross_origin: "请在小安自己的页面上操作。", session_ended: "登录已过期或已退出，请用新的邀请链接重新加入。",
    me: "我", logout: "退出登录", logout_confirm: "退出后，需要新的邀请链接才能再次进入这个对话。确定退出吗？",
    close: "关闭",
  },
  en: {
    title: "Xiaoan · school safety", typing: "typing…", join_title: "Join Xiaoan",
    join_intro: "Enter your name and invitation code (an invitation link fills in the code).",
    name: "Name", code: "Invitation code", join: "Join", ok: "OK", message: "Message",
    send: "Send", menu: "Commands", menu_label: "Menu", camera: "Take a photo", attach: "Send a file",
    phone_placeholder: "Phone number", share_phone: "📱 Share my phone number",
    share_phone_send: "Send phone number", name_needed: "Please enter your name.",
    too_large: "The file is too large (at most {mb} MB).", failed: "Could not send; try again.",
    offline: "Connection lost, reconnecting…", no_commands: "No commands yet",
    bad_phone: "Please enter a valid phone number.", download: "Download",
    uploading: "Uploading…", slow_down: "Too many requests; try again in {s} s.",
    too_many_joins: "Too many joins; try again in {s} s.",
    cross_origin: "Please use Xiaoan's own page.",
    session_ended: "Your session ended (expired or logged out); join again with a new invitation link.",
    me: "Me", logout: "Log out",
    logout_confirm: "After logging out you need a new invitation link to come back to this chat. Log out?",
    close: "Close",
  },
};
const LANG = (navigator.language || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
const T = TEXTS[LANG];
const $ = (id) => document.getElementById(id);

const state = {
  version: 0, messages: new Map(), keyboard: null, events: null, csrf: "",
  refreshing: false, again: false, retry: 5000,
};

function t(key, values) {
  let text = T[key] || key;
  for (const [k, v] of Object.entries(values || {})) text = text.replace(`{${k}}`, v);
  return text;
}

function translatePage() {
  document.documentElement.lang = LANG === "en" ? "en" : "zh-CN";
  document.title = LANG === "en" ? "Xiaoan" : "小安";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-placeholder]")) el.placeholder = t(el.dataset.tPlaceholder);
  for (const el of document.querySelectorAll("[data-t-title]")) el.title = t(el.dataset.tTitle);
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, { credentials: "same-origin", ...options });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  return { status: response.status, data };
}

// A refusal in words: the server's short reason, or "could not send".
function refused(status, data) {
  if (status === 429) return t(data.error === "too_many_joins" ? "too_many_joins" : "slow_down", { s: data.retry_after || 1 });
  if (status === 403 && data.error === "cross_origin") return t("cross_origin");
  return t("failed");
}

// The session ended while the page was open: show the join form again, saying why.
function sessionEnded(status, data) {
  if (status !== 401) return false;
  location.replace(`${location.pathname}?ended=1`);
  return true;
}

function toast(text, ms) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, ms || 2500);
}

function startCode() {
  return new URLSearchParams(location.search).get("start") || "";
}

// A building's QR code (?start=w_<id>) is no invitation: someone who has joined gets that
// building's walk (main sends it as /start); a newcomer's join form is left for a real code.
function invitationCode() {
  const code = startCode();
  return code.startsWith("w_") ? "" : code;
}

function forgetStartCode() {
  history.replaceState(null, "", location.pathname);
}

// --- joining -----------------------------------------------------------------------------
function showJoin(reason) {
  $("join").hidden = false;
  $("join-code").value = invitationCode();
  if (reason === "session_ended" || new URLSearchParams(location.search).has("ended")) {
    $("join-error").textContent = t("session_ended");
  }
  $("join-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("join-name").value.trim();
    if (!name) { $("join-error").textContent = t("name_needed"); return; }
    const { status, data } = await api("/api/join", {
      name, code: $("join-code").value.trim(), language: navigator.language || "zh",
    });
    if (status !== 200) { $("join-error").textContent = refused(status, data); return; }
    state.csrf = data.csrf;
    showMe({ name: data.name, roles: [] });
    forgetStartCode();
    $("join").hidden = true;
    showChat();
  });
}

// --- the chat --------------------------------------------------------------------------------
async function showChat() {
  $("chat").hidden = false;
  $("composer").hidden = false;
  await refresh();
  listen();
}

// One fetch at a time: events arriving meanwhile ask for one more after it.
async function refresh() {
  if (state.refreshing) { state.again = true; return; }
  state.refreshing = true;
  try {
    do {
      state.again = false;
      await fetchChanges();
    } while (state.again);
  } finally {
    state.refreshing = false;
  }
}

async function fetchChanges() {
  const { status, data } = await api(`/api/messages?since=${state.version}`);
  if (sessionEnded(status, data)) return;
  if (status !== 200) return;
  show(data.messages);
}

// Messages new or changed (fetched, or brought by an event): drawn, the version kept.
function show(messages) {
  for (const message of messages) {
    const held = state.messages.get(message.id);
    if (held && held.version > message.version) continue;  // a fetch older than an event
    state.messages.set(message.id, message);
    state.version = Math.max(state.version, message.version);
    draw(message);
  }
  updateKeyboard();
  if (messages.length) scrollDown();
}

function scrollDown() {
  const main = $("chat");
  main.scrollTop = main.scrollHeight;
}

function listen() {
  if (state.events) state.events.close();
  // The stream brings what changed since the version held (the browser's own reconnect
  // resumes from the last event's id): the next question shows without another fetch.
  const events = new EventSource(`/api/events?since=${state.version}`);
  state.events = events;
  events.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "changed") {
      if (data.messages) show(data.messages);
      else refresh();
    }
    else if (data.type === "alert") showAlert(data.text, data.show_alert);
    else if (data.type === "action") showTyping();
  };
  events.onopen = () => { state.retry = 5000; };
  events.onerror = () => {
    toast(t("offline"));
    // Refused (too many open pages, say): the browser gives up; try again later ourselves.
    if (events.readyState === EventSource.CLOSED && state.events === events) {
      setTimeout(() => { if (state.events === events) { listen(); refresh(); } }, state.retry);
      state.retry = Math.min(state.retry * 2, 60000);
    }
  };
}

function showAlert(text, modal) {
  if (modal && typeof $("alert").showModal === "function") {
    $("alert-text").textContent = text;
    $("alert").showModal();
  } else {
    toast(text, 4000);
  }
}

function showTyping() {
  $("typing").hidden = false;
  clearTimeout(showTyping.timer);
  showTyping.timer = setTimeout(() => { $("typing").hidden = true; }, 5000);
}

function draw(message) {
  const id = `m${message.id}`;
  let item = document.getElementById(id);
  if (message.deleted) { if (item) item.remove(); return; }
  if (!item) {
    item = document.createElement("li");
    item.id = id;
    $("messages").appendChild(item);
  }
  item.className = message.from_bot ? "msg bot" : "msg me";
  item.replaceChildren();
  if (message.file) item.appendChild(fileView(message.file));
  if (message.contact) {
    const phone = document.createElement("span");
    phone.textContent = `📱 ${message.contact}`;
    item.appendChild(phone);
  }
  if (message.html) {
    const text = document.createElement("div");
    text.className = "text";
    text.innerHTML = message.html; // made safe by the server (Telegram's tags only)
    item.appendChild(text);
  }
  if (message.buttons && message.buttons.length) item.appendChild(buttons(message));
  if (message.from_bot && message.html) {
    for (const link of item.querySelectorAll("a[href]")) link.target = "_blank";
    tappableCommands(item.querySelector(".text"));
  }
  if (message.from_bot) $("typing").hidden = true;
}

// A /command in the bot's text is tappable and sends itself, as in Telegram's apps.
const COMMAND = /(^|[^\w./:?=&-])(\/[a-z][a-z0-9_]{0,31})(?![\w@])/g;

function tappableCommands(root) {
  if (!root) return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => node.parentElement.closest("a, code, pre")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
  });
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const text = node.nodeValue;
    COMMAND.lastIndex = 0;
    if (!COMMAND.test(text)) continue;
    const parts = document.createDocumentFragment();
    let at = 0;
    COMMAND.lastIndex = 0;
    for (const found of text.matchAll(COMMAND)) {
      const start = found.index + found[1].length;
      parts.appendChild(document.createTextNode(text.slice(at, start)));
      const link = document.createElement("a");
      link.href = "#";
      link.className = "command";
      link.textContent = found[2];
      link.addEventListener("click", (event) => { event.preventDefault(); sendText(found[2]); });
      parts.appendChild(link);
      at = start + found[2].length;
    }
    parts.appendChild(document.createTextNode(text.slice(at)));
    node.replaceWith(parts);
  }
}

function fileView(file) {
  if (file.kind === "photo") {
    const img = document.createElement("img");
    img.src = file.url;
    img.alt = "";
    img.loading = "lazy";
    img.addEventListener("load", scrollDown, { once: true });
    return img;
  }
  const link = document.createElement("a");
  link.className = "file";
  link.href = file.url;
  link.download = file.name || "";
  link.textContent = `📄 ${file.name || t("download")}`;
  return link;
}

function buttons(message) {
  const box = document.createElement("div");
  box.className = "buttons";
  for (const row of message.buttons) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      let el;
      if (button.url) {
        el = document.createElement("a");
        el.href = button.url;
        el.rel = "noopener noreferrer";
        el.target = "_blank";
      } else if (button.data && /^(j\d+:)?cam:/.test(button.data)) {
        // The photo step's big button: this page opens the camera (Telegram's apps
        // cannot, and the bot answers their tap with how to send a photo).
        el = document.createElement("button");
        el.type = "button";
        el.className = "camera-button";
        el.addEventListener("click", () => $("camera").click());
      } else {
        el = document.createElement("button");
        el.type = "button";
        el.addEventListener("click", () => tap(message.id, button.data, el));
      }
      el.textContent = button.text;
      line.appendChild(el);
    }
    box.appendChild(line);
  }
  return box;
}

async function tap(messageId, data, el) {
  el.disabled = true;
  const { status, data: answer } = await api("/api/tap", { message_id: messageId, data });
  el.disabled = false;
  if (sessionEnded(status, answer)) return;
  if (status !== 200) toast(refused(status, answer));
}

// --- the reply keyboard (the share-my-phone button) -----------------------------------------
function updateKeyboard() {
  let keyboard = null;
  for (const message of [...state.messages.values()].sort((a, b) => a.id - b.id)) {
    if (!message.from_bot || message.deleted) continue;
    if (message.keyboard) keyboard = message.keyboard;
    if (message.remove_keyboard) keyboard = null;
  }
  state.keyboard = keyboard;
  drawKeyboard();
}

function drawKeyboard() {
  const box = $("keyboard");
  box.replaceChildren();
  box.hidden = !state.keyboard;
  if (!state.keyboard) { $("phone-form").hidden = true; return; }
  for (const row of state.keyboard.rows) {
    const line = document.createElement("div");
    line.className = "row";
    for (const key of row) {
      const el = document.createElement("button");
      el.type = "button";
      if (key.request_contact) {
        el.textContent = t("share_phone");
        el.className = "share-phone";
        el.addEventListener("click", () => { $("phone-form").hidden = false; $("phone").focus(); });
      } else {
        el.textContent = key.text;
        el.addEventListener("click", () => sendText(key.text));
      }
      line.appendChild(el);
    }
    box.appendChild(line);
  }
}

async function sharePhone(event) {
  event.preventDefault();
  const phone = $("phone").value.trim();
  const { status, data } = await api("/api/contact", { phone });
  if (sessionEnded(status, data)) return;
  if (status !== 200) { toast(status === 400 ? t("bad_phone") : refused(status, data)); return; }
  $("phone").value = "";
  $("phone-form").hidden = true;
  if (state.keyboard && state.keyboard.one_time) { state.keyboard = null; drawKeyboard(); }
}

// --- sending -----------------------------------------------------------------------------------
async function sendText(text) {
  if (!text) return;
  const { status, data } = await api("/api/send", { text });
  if (sessionEnded(status, data)) return;
  if (status !== 200) toast(refused(status, data));
}

async function upload(input) {
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name || "photo.jpg");
  toast(t("uploading"));
  const response = await fetch("/api/upload", {
    method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRF-Token": state.csrf },
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  if (sessionEnded(response.status, data)) return;
  if (response.status === 413) {
    toast(t("too_large", { mb: data.limit_mb || "?" }), 4000);
  } else if (response.status !== 200) {
    toast(refused(response.status, data), 4000);
  }
}

async function toggleMenu() {
  const menu = $("menu");
  if (!menu.hidden) { menu.hidden = true; $("menu-button").setAttribute("aria-expanded", "false"); return; }
  $("menu-button").setAttribute("aria-expanded", "true");
  const { data } = await api("/api/commands");
  menu.replaceChildren();
  const commands = data.commands || [];
  if (!commands.length) {
    const none = document.createElement("span");
    none.textContent = t("no_commands");
    menu.appendChild(none);
  }
  for (const command of commands) {
    const el = document.createElement("button");
    el.type = "button";
    el.textContent = `/${command.command} — ${command.description}`;
    el.addEventListener("click", () => {
      menu.hidden = true;
      $("menu-button").setAttribute("aria-expanded", "false");
      sendText(`/${command.command}`);
    });
    menu.appendChild(el);
  }
  menu.hidden = false;
}

function wireComposer() {
  $("send-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    $("text").value = "";
    sendText(text);
  });
  $("phone-form").addEventListener("submit", sharePhone);
  $("camera").addEventListener("change", () => upload($("camera")));
  $("attach").addEventListener("change", () => upload($("attach")));
  $("menu-button").addEventListener("click", toggleMenu);
  $("me-button").addEventListener("click", async () => {
    if (!$("me").hidden) { $("me").hidden = true; return; }
    const { status, data } = await api("/api/me");  // roles may have come since the page loaded
    if (status === 200) showMe(data);
    $("me").hidden = false;
  });
  $("me-close").addEventListener("click", () => { $("me").hidden = true; });
  $("logout").addEventListener("click", logout);
}

// --- who I am, and logging out ---------------------------------------------------------------
function showMe(person) {
  $("me-button").textContent = person.name;
  $("me-button").hidden = false;
  $("me-name").textContent = person.name;
  const roles = $("me-roles");
  roles.replaceChildren();
  for (const line of person.roles || []) {
    const item = document.createElement("li");
    item.textContent = line;
    roles.appendChild(item);
  }
}

async function logout() {
  if (!window.confirm(t("logout_confirm"))) return;
  const { status, data } = await api("/api/logout", {});
  if (status !== 200 && status !== 401) { toast(refused(status, data)); return; }
  if (state.events) state.events.close();
  state.events = null;
  location.replace(location.pathname);
}

async function main() {
  translatePage();
  wireComposer();
  const { status, data } = await api("/api/me");
  if (status !== 200) { showJoin(data.error); return; }
  state.csrf = data.csrf;
  showMe(data);
  const code = startCode();
  if (code) {  // an invitation link opened by someone who already has a chat
    forgetStartCode();
    await sendText(`/start ${code}`);
  }
  showChat();
}

main();
