// The local chat page: join, read the chat, tap buttons, send texts, photos, files and
// the phone. Messages arrive as HTML already made safe by the server; everything this
// script builds itself goes through textContent.
"use strict";

const TEXTS = {
  zh: {
    title: "小安 · 校园消防安全", typing: "正在输入…", join_title: "加入小安",
    join_intro: "输入你的姓名和邀请码（邀请链接会自动填好邀请码）。", name: "姓名",
    code: "邀请码", join: "加入", ok: "好的", message: "消息", send: "发送",
    menu: "命令菜单", camera: "拍照", attach: "发送文件", phone_placeholder: "手机号",
    share_phone: "📱 分享我的手机号", share_phone_send: "发送手机号",
    name_needed: "请填写姓名。", too_large: "文件太大（最大 {mb} MB）。",
    failed: "发送失败，请重试。", offline: "连接中断，正在重连…", no_commands: "暂无命令",
    bad_phone: "请输入正确的手机号。", download: "下载", uploading: "正在上传…",
  },
  en: {
    title: "Xiaoan · school safety", typing: "typing…", join_title: "Join Xiaoan",
    join_intro: "Enter your name and invitation code (an invitation link fills in the code).",
    name: "Name", code: "Invitation code", join: "Join", ok: "OK", message: "Message",
    send: "Send", menu: "Commands", camera: "Take a photo", attach: "Send a file",
    phone_placeholder: "Phone number", share_phone: "📱 Share my phone number",
    share_phone_send: "Send phone number", name_needed: "Please enter your name.",
    too_large: "The file is too large (at most {mb} MB).", failed: "Could not send; try again.",
    offline: "Connection lost, reconnecting…", no_commands: "No commands yet",
    bad_phone: "Please enter a valid phone number.", download: "Download",
    uploading: "Uploading…",
  },
};
const LANG = (navigator.language || "zh").toLowerCase().startsWith("en") ? "en" : "zh";
const T = TEXTS[LANG];
const $ = (id) => document.getElementById(id);

const state = { version: 0, messages: new Map(), keyboard: null, events: null };

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
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, { credentials: "same-origin", ...options });
  let data = {};
  try { data = await response.json(); } catch (e) { data = {}; }
  return { status: response.status, data };
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
function showJoin() {
  $("join").hidden = false;
  $("join-code").value = invitationCode();
  $("join-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("join-name").value.trim();
    if (!name) { $("join-error").textContent = t("name_needed"); return; }
    const { status } = await api("/api/join", {
      name, code: $("join-code").value.trim(), language: navigator.language || "zh",
    });
    if (status !== 200) { $("join-error").textContent = t("failed"); return; }
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

async function refresh() {
  const { status, data } = await api(`/api/messages?since=${state.version}`);
  if (status !== 200) return;
  for (const message of data.messages) {
    state.messages.set(message.id, message);
    state.version = Math.max(state.version, message.version);
    draw(message);
  }
  updateKeyboard();
  if (data.messages.length) scrollDown();
}

function scrollDown() {
  const main = $("chat");
  main.scrollTop = main.scrollHeight;
}

function listen() {
  if (state.events) state.events.close();
  const events = new EventSource("/api/events");
  state.events = events;
  events.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "changed") refresh();
    else if (data.type === "alert") showAlert(data.text, data.show_alert);
    else if (data.type === "action") showTyping();
  };
  events.onerror = () => { toast(t("offline")); };
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
  }
  if (message.from_bot) $("typing").hidden = true;
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
  const { status } = await api("/api/tap", { message_id: messageId, data });
  el.disabled = false;
  if (status !== 200) toast(t("failed"));
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
  const { status } = await api("/api/contact", { phone });
  if (status !== 200) { toast(t("bad_phone")); return; }
  $("phone").value = "";
  $("phone-form").hidden = true;
  if (state.keyboard && state.keyboard.one_time) { state.keyboard = null; drawKeyboard(); }
}

// --- sending -----------------------------------------------------------------------------------
async function sendText(text) {
  if (!text) return;
  const { status } = await api("/api/send", { text });
  if (status !== 200) toast(t("failed"));
}

async function upload(input) {
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name || "photo.jpg");
  toast(t("uploading"));
  const response = await fetch("/api/upload", { method: "POST", body: form, credentials: "same-origin" });
  if (response.status === 413) {
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    toast(t("too_large", { mb: data.limit_mb || "?" }), 4000);
  } else if (response.status !== 200) {
    toast(t("failed"));
  }
}

async function toggleMenu() {
  const menu = $("menu");
  if (!menu.hidden) { menu.hidden = true; return; }
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
    el.addEventListener("click", () => { menu.hidden = true; sendText(`/${command.command}`); });
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
}

async function main() {
  translatePage();
  wireComposer();
  const { status } = await api("/api/me");
  if (status !== 200) { showJoin(); return; }
  const code = startCode();
  if (code) {  // an invitation link opened by someone who already has a chat
    forgetStartCode();
    await sendText(`/start ${code}`);
  }
  showChat();
}

main();
