"""`hpo dashboard`: a read-only aiohttp server over every sweep in a storage root.

GET / (overview) and GET /sweeps/<name> serve one page (inline JS and CSS, nothing fetched from elsewhere)
that polls GET /api/sweeps and GET /api/sweeps/<name>?page=N&per_page=M. A poll is answered from memory
while the sweep is re-read behind it, at most once per REFRESH_S however many people look, and its JSON is
computed again only when something changed. The server only reads the sweep folders.
"""
from __future__ import annotations

import asyncio
import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from typing import Any, Mapping

from aiohttp import web

from orchestrator.dashboard import DEFAULT_HOST, DEFAULT_PORT, payloads
from orchestrator.dashboard.live_sweep import LiveSweep
from orchestrator.errors import HpoError, UserInputError
from orchestrator.report.folder import SweepFolder
from orchestrator.storage import StorageLocation, resolve_storage
from orchestrator.storage.s3 import endpoint_url

REFRESH_S = 1.0            # a sweep is re-read at most this often
STORAGE = web.AppKey("storage", object)
PAGE = files("orchestrator.dashboard").joinpath("page.html").read_text(encoding="utf-8")


class Storage:
    """The sweeps under one storage root, each a LiveSweep kept between requests."""

    def __init__(self, root: StorageLocation) -> None:
        self.root = root
        self.sweeps: dict[str, LiveSweep] = {}
        self._lock = threading.Lock()
        self._answers: dict[tuple[Any, ...], str] = {}   # JSON by (sweep, version, alive, question)
        self._refresher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hpo-dashboard-refresh")
        endpoint = endpoint_url(root.options) if root.is_s3 else None
        self.storage_flags = f" --endpoint-url {endpoint}" if endpoint else ""

    def names(self) -> list[str]:
        """The sweep folders under the root (one listing); new ones get a LiveSweep."""
        entries = SweepFolder(self.root).entries()
        names = sorted(e.name for e in entries if e.is_dir and not e.name.startswith("."))
        with self._lock:
            for name in names:
                if name not in self.sweeps:
                    self.sweeps[name] = LiveSweep(self.root.join(name))
        return names

    def sweep(self, name: str) -> LiveSweep | None:
        if name not in self.sweeps:
            self.names()
        return self.sweeps.get(name)

    def overview(self) -> list[dict[str, Any]]:
        """The summary of every sweep folder (a folder that holds no sweep files is left out)."""
        found = []
        for name in self.names():
            sweep = self.sweeps[name]
            self.bring_up_to_date(sweep)
            if sweep.is_sweep:
                found.append(json.loads(self.answer(sweep, ("summary",), lambda s=sweep: payloads.summary(s))))
        return found

    def bring_up_to_date(self, sweep: LiveSweep) -> None:
        """Read a sweep seen for the first time now; later, refresh it behind the answer (stale while it
        revalidates): a poll never waits on storage, and shows what the previous poll's refresh read."""
        if not sweep.refreshed_at:
            sweep.refresh()
        elif sweep.due(REFRESH_S):
            self._refresher.submit(sweep.refresh, REFRESH_S)

    def answer(self, sweep: LiveSweep, question: tuple[Any, ...], compute: Any) -> str:
        """The JSON of `compute()`, computed again only when the sweep changed (most polls find nothing new)."""
        key = (sweep.name, sweep.version, sweep.alive(), *question)
        text = self._answers.get(key)
        if text is None:
            text = json.dumps(sweep.read_consistently(compute), default=str, allow_nan=False)
            with self._lock:
                stale = [k for k in self._answers if k[0] == sweep.name and k[1:3] != key[1:3]]
                for old in stale:
                    del self._answers[old]
                self._answers[key] = text
        return text


def build_app(storage_uri: str, storage_options: Mapping[str, Any] | None = None, *,
              must_exist: bool = True) -> web.Application:
    """The web application over `storage_uri`; a missing root is a one-line UserInputError if `must_exist`
    (`hpo run --dashboard` starts before the sweep creates it)."""
    root = resolve_storage(storage_uri, storage_options, create=False)
    if must_exist and not SweepFolder(root).exists():
        raise UserInputError(f"no storage folder at {root.display}")
    storage = Storage(root)
    app = web.Application(middlewares=[_headers])
    app[STORAGE] = storage
    app.add_routes([web.get("/", _page), web.get("/sweeps/{name}", _page),
                    web.get("/api/sweeps", _api_sweeps), web.get("/api/sweeps/{name}", _api_sweep)])
    return app


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _page(request: web.Request) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    return web.Response(
        text=PAGE.replace("{{nonce}}", nonce), content_type="text/html",
        headers={"Content-Security-Policy": f"default-src 'none'; script-src 'nonce-{nonce}'; "
                                            f"style-src 'nonce-{nonce}'; connect-src 'self'; img-src 'self' data:"})


async def _api_sweeps(request: web.Request) -> web.Response:
    storage: Storage = request.app[STORAGE]
    try:
        sweeps = await asyncio.to_thread(storage.overview)
    except HpoError as exc:
        return _json({"error": str(exc)}, status=503)
    return _json({"storage": storage.root.uri, "sweeps": sweeps})


async def _api_sweep(request: web.Request) -> web.Response:
    storage: Storage = request.app[STORAGE]
    name = request.match_info["name"]
    try:
        page = int(request.query.get("page", "1"))
        per_page = int(request.query.get("per_page", str(payloads.PER_PAGE)))
    except ValueError:
        return _json({"error": "page and per_page are whole numbers"}, status=400)

    def read() -> str | None:
        sweep = storage.sweep(name)
        if sweep is None:
            return None
        storage.bring_up_to_date(sweep)
        return storage.answer(sweep, ("detail", page, per_page),
                              lambda: payloads.detail(sweep, page, per_page, storage.storage_flags))

    try:
        found = await asyncio.to_thread(read)
    except HpoError as exc:
        return _json({"error": str(exc)}, status=503)
    if found is None:
        return _json({"error": f"no sweep {name}"}, status=404)
    return web.Response(text=found, content_type="application/json")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data, default=str, allow_nan=False), status=status,
                        content_type="application/json")


def serve_app(app: web.Application, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until interrupted (`hpo dashboard`)."""
    web.run_app(app, host=host, port=port, print=None, handle_signals=True)


def start_in_thread(storage_uri: str, storage_options: Mapping[str, Any] | None = None, *,
                    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, must_exist: bool = True) -> str:
    """Serve from a daemon thread (`hpo run --dashboard`); returns the page's URL once it listens."""
    app = build_app(storage_uri, storage_options, must_exist=must_exist)
    ready: dict[str, Any] = {}
    started = threading.Event()

    def run() -> None:
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app, handle_signals=False)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, host, port)
            loop.run_until_complete(site.start())
            ready["port"] = runner.addresses[0][1]   # the real one when port is 0
        except OSError as exc:
            ready["error"] = exc
        started.set()
        if "error" not in ready:
            loop.run_forever()

    threading.Thread(target=run, name="hpo-dashboard", daemon=True).start()
    started.wait(30)
    if "error" in ready or "port" not in ready:
        raise UserInputError(f"cannot serve the dashboard on {host}:{port}: {ready.get('error', 'timed out')}")
    return f"http://{host}:{ready['port']}/"
