"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from openbenefits.kit.metrics import render_metrics
from openbenefits.kit.migrations import current_revision, head_revision
from openbenefits.kit.routing import get_db

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and migrations at head")
async def readyz(request: Request) -> JSONResponse:
    db = get_db(request)
    expected = head_revision()
    try:
        applied = await current_revision(db.read_engine)
    except Exception as error:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": type(error).__name__},
            status_code=503,
        )
    ready = applied == expected
    return JSONResponse(
        {
            "status": "ok" if ready else "unavailable",
            "database": "ok",
            "migration": applied,
            "expectedMigration": expected,
        },
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics() -> Response:
    body, media_type = render_metrics()
    return Response(body, media_type=media_type)
