"""Drives the chat page in headless Chromium over the DevTools protocol (CDP, spoken with the
`websockets` library): two tabs and one TCP line client join one room and each sends a message;
every tab's log (<ul id="log">) must show the other tab's and the TCP client's messages, and the
TCP client must get both tabs'. Saves a screenshot of the first tab.

Usage: python3 test/chat_browser.py CHAT_PORT DEVTOOLS_PORT SCREENSHOT.png [MORE.png...]
Prints "ok   NAME" / "FAIL NAME: why" per check, then "chat_browser: done" if it ran to the end.
"""
import asyncio
import base64
import json
import sys
import time
import traceback
import urllib.request

import websockets

CHAT_PORT = int(sys.argv[1])
DEVTOOLS_PORT = int(sys.argv[2])
SHOTS = sys.argv[3:]
PAGE = f"http://127.0.0.1:{CHAT_PORT}/"
ROOM = "web"


def report(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + detail}",
          flush=True)


class Cdp:
    """One connection to the browser; pages are reached through flat sessions (sessionId)."""

    def __init__(self, ws):
        self.ws = ws
        self.last_id = 0
        self.pending = {}
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            fut = self.pending.pop(msg.get("id"), None)
            if fut is None or fut.done():
                continue  # an event: nothing here waits for events
            if "error" in msg:
                fut.set_exception(RuntimeError(f"CDP error {msg['error']}"))
            else:
                fut.set_result(msg.get("result", {}))

    async def call(self, method, params=None, session=None, timeout=10):
        self.last_id += 1
        msg = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.last_id] = fut
        await self.ws.send(json.dumps(msg))
        return await asyncio.wait_for(fut, timeout)


class Tab:
    def __init__(self, cdp, session, nick):
        self.cdp, self.session, self.nick = cdp, session, nick

    @classmethod
    async def open(cls, cdp, nick):
        target = await cdp.call("Target.createTarget", {"url": "about:blank"})
        attached = await cdp.call("Target.attachToTarget",
                                  {"targetId": target["targetId"], "flatten": True})
        tab = cls(cdp, attached["sessionId"], nick)
        await tab.call("Emulation.setDeviceMetricsOverride",
                       {"width": 820, "height": 640, "deviceScaleFactor": 1, "mobile": False})
        await tab.call("Page.navigate", {"url": PAGE})
        return tab

    async def call(self, method, params=None):
        return await self.cdp.call(method, params, self.session)

    async def js(self, expression):
        r = await self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression!r}: {r['exceptionDetails']}")
        return r["result"].get("value")

    async def until(self, expression, timeout=10):
        """Waits until the expression is truthy; returns its value, or raises with the last."""
        end = time.monotonic() + timeout
        while True:
            try:
                value = await self.js(expression)
            except RuntimeError:  # the page is still loading
                value = None
            if value:
                return value
            if time.monotonic() > end:
                raise TimeoutError(f"{self.nick}: {expression} stayed {value!r}; log {await self.log()}")
            await asyncio.sleep(0.05)

    async def log(self):
        try:
            return await self.js("Array.from(document.querySelectorAll('#log li'), li => li.textContent)")
        except RuntimeError:
            return None

    async def submit(self, box, value, form):
        """Types into a box and clicks its form's button, as a user would."""
        await self.js(f"document.getElementById({box!r}).value = {json.dumps(value)}; "
                      f"document.querySelector('#{form} button').click(); true")

    async def wait_line(self, line, timeout=10):
        await self.until(f"Array.from(document.querySelectorAll('#log li'), li => li.textContent)"
                         f".includes({json.dumps(line)})", timeout)


async def devtools_url(timeout=20):
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{DEVTOOLS_PORT}/json/version",
                                        timeout=2) as r:
                return json.loads(r.read())["webSocketDebuggerUrl"]
        except OSError:
            if time.monotonic() > end:
                raise
            await asyncio.sleep(0.2)


async def check(name, coro, timeout=30):
    try:
        result = await asyncio.wait_for(coro, timeout)
        report(name, result is True, "" if result is True else repr(result)[:400])
        return result is True
    except Exception as e:
        report(name, False, f"{type(e).__name__}: {e}"[:400])
        return False


async def main():
    url = await devtools_url()
    async with websockets.connect(url, max_size=None) as ws:
        cdp = Cdp(ws)
        tabs = []

        async def open_tabs():
            for nick in ("alice", "bob"):
                tab = await Tab.open(cdp, nick)
                await tab.until("document.getElementById('status').textContent === 'connected'")
                tabs.append(tab)
            return True

        if not await check("two tabs load the page and open the WebSocket", open_tabs()):
            return

        async def log_in():
            for tab in tabs:
                await tab.submit("nick", tab.nick, "nick-form")
                await tab.wait_line(f"OK NICK {tab.nick}")
                await tab.submit("room", ROOM, "join-form")
                await tab.wait_line(f"OK JOIN {ROOM}")
            return True

        await check("each tab sets its nick and joins the room (forms, clicks)", log_in())

        r, w = await asyncio.open_connection("127.0.0.1", CHAT_PORT)

        async def line(cmd):
            w.write(cmd.encode() + b"\n")
            await w.drain()

        async def tcp_joins():
            await line("NICK carol")
            await line(f"JOIN {ROOM}")
            got = [(await asyncio.wait_for(r.readline(), 5)).decode().rstrip("\n") for _ in "ab"]
            return got == ["OK NICK carol", f"OK JOIN {ROOM}"] or got

        await check("a TCP line client joins the same room", tcp_joins())

        want = [f"MSG {ROOM} alice hello from alice's tab", f"MSG {ROOM} bob hi alice, bob here",
                f"MSG {ROOM} carol hello browsers, from nc"]

        async def exchange():
            await tabs[0].submit("msg", "hello from alice's tab", "msg-form")
            await tabs[0].wait_line(want[0])
            await tabs[1].submit("msg", "hi alice, bob here", "msg-form")
            await tabs[1].wait_line(want[1])
            await line(f"MSG {ROOM} hello browsers, from nc")
            for tab in tabs:
                for m in want:
                    await tab.wait_line(m)
            return True

        await check("each tab's log shows the other tab's and the TCP client's messages",
                    exchange())

        async def tcp_got():
            got = [(await asyncio.wait_for(r.readline(), 5)).decode().rstrip("\n") for _ in want]
            return got == want or got

        await check("the TCP client got both tabs' messages and its own, in order", tcp_got())

        async def logs_exact():
            # Each tab received exactly its replies and the three messages, nothing twice.
            logs = [await tab.log() for tab in tabs]
            expect = [[f"OK NICK {t.nick}", f"OK JOIN {ROOM}"] + want for t in tabs]
            return logs == expect or logs

        await check("each log holds exactly its replies and the three messages", logs_exact())

        async def screenshot():
            await tabs[0].js("document.getElementById('msg').value = 'typing...'; true")
            await tabs[0].call("Page.bringToFront")  # a background tab is not painted
            shot = await tabs[0].cdp.call("Page.captureScreenshot", {"format": "png"},
                                          tabs[0].session, timeout=20)
            data = base64.b64decode(shot["data"])
            for path in SHOTS:
                with open(path, "wb") as f:
                    f.write(data)
            return data[:8] == b"\x89PNG\r\n\x1a\n" or data[:8]

        await check("a screenshot of the first tab is saved", screenshot())
        w.close()
        try:
            await asyncio.wait_for(cdp.call("Browser.close"), 5)
        except Exception:
            pass  # the browser may close the socket before it answers; the script kills it anyway
    print("chat_browser: done", flush=True)


try:
    asyncio.run(main())
except Exception:
    traceback.print_exc()
