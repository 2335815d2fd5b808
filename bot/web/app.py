"""The gateway's HTTP application: chat API and page, admin API, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from bot.config import Settings
from bot.gateway import Gateway
from bot.web import admin_api, chat_api, privacy_api
from bot.web.errors import install_error_handlers
from bot.web.ratelimit import install_rate_limits
from handoff.console import api as console_api
from handoff.console import appointments_api

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings, gateway: Gateway | None = None) -> FastAPI:
    """Build the app; the gateway (database, engine client, channels) lives in its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gw = gateway or Gateway.build(settings)
        app.state.gateway = gw
        await gw.start()
        try:
            yield
        finally:
            await gw.stop()

    app = FastAPI(title="Relais", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    install_rate_limits(app, settings)
    app.include_router(chat_api.router)
    app.include_router(admin_api.router)
    app.include_router(privacy_api.router)
    app.include_router(console_api.page_router)
    app.include_router(console_api.router)
    app.include_router(appointments_api.router)

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        """Each component's state; 503 names the failing one."""
        components = await request.app.state.gateway.health()
        ok = all(state == "ok" for state in components.values())
        return JSONResponse(
            {"status": "ok" if ok else "degraded", "components": components},
            status_code=200 if ok else 503,
        )

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    app.mount(
        "/console/static",
        StaticFiles(directory=console_api.STATIC_DIR, check_dir=False),
        name="console-static",
    )
    return app
