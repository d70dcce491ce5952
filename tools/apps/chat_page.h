// The chat app's web page (GET /): plain HTML and JavaScript, no build step. It opens a
// WebSocket to /ws on the host that served it and speaks the chat protocol, one command per
// text message: a nick box (NICK), a room box (JOIN), a message box (MSG to that room), and the
// lines the server sends, one <li> each, in <ul id="log">. Connection status goes to
// <p id="status">, not to the log, so the log holds exactly what was received.
#pragma once

#include <string_view>

namespace percore::apps {

inline constexpr std::string_view kChatPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>percore chat</title>
<style>
  body { font: 15px system-ui, sans-serif; max-width: 42em; margin: 1.5em auto; }
  form { margin: 0.3em 0; }
  input { font: inherit; padding: 0.2em; }
  #log { list-style: none; padding: 0.5em; border: 1px solid #bbb; height: 22em;
         overflow-y: auto; font-family: monospace; }
  #status { color: #666; }
</style>
</head>
<body>
<h1>percore chat</h1>
<p id="status">connecting...</p>
<form id="nick-form"><input id="nick" placeholder="nick" size="16"> <button>Set nick</button></form>
<form id="join-form"><input id="room" placeholder="room" size="16"> <button>Join</button></form>
<form id="msg-form"><input id="msg" placeholder="message" size="40"> <button>Send</button></form>
<ul id="log"></ul>
<script>
const $ = (id) => document.getElementById(id);
const scheme = location.protocol === "https:" ? "wss" : "ws";
const ws = new WebSocket(`${scheme}://${location.host}/ws`);

ws.onopen = () => { $("status").textContent = "connected"; };
ws.onclose = (e) => { $("status").textContent = `closed (${e.code})`; };
ws.onmessage = (e) => {
  const li = document.createElement("li");
  li.textContent = e.data;
  $("log").appendChild(li);
  $("log").scrollTop = $("log").scrollHeight;
};

// Each form sends one command; Enter in a box submits its form.
function on(form, command) {
  $(form).addEventListener("submit", (e) => {
    e.preventDefault();
    if (ws.readyState === WebSocket.OPEN) ws.send(command());
  });
}
on("nick-form", () => `NICK ${$("nick").value}`);
on("join-form", () => `JOIN ${$("room").value}`);
on("msg-form", () => {
  const text = $("msg").value;
  $("msg").value = "";
  return `MSG ${$("room").value} ${text}`;
});
</script>
</body>
</html>
)html";

}  // namespace percore::apps
