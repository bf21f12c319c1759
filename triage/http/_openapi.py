"""The OpenAPI 3.1 document of the API, generated from the Structs it serves.

The schemas come from ``msgspec.json.schema_components`` over the very
types the handlers encode, so the document cannot drift from the bodies;
docs/openapi.json is this document, and a test keeps the two equal.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

import msgspec

from projections import ObjectivesReport, WorkspaceObjectives, WorkspaceReport

from ._responses import (
    ApiError,
    DeadLetters,
    ExpertProfileResponse,
    Health,
    Queue,
    ServiceStatus,
    TaskHistory,
    Workspaces,
)

__all__ = ["openapi_document"]

_REF: Final = "#/components/schemas/{name}"
_TYPES: Final = (
    ApiError,
    Health,
    ServiceStatus,
    Workspaces,
    WorkspaceReport,
    WorkspaceObjectives,
    ObjectivesReport,
    TaskHistory,
    ExpertProfileResponse,
    Queue,
    DeadLetters,
)


def _ref(kind: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=kind.__name__)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_NOT_FOUND: Final = {"404": _json(_ref(ApiError), "Not found")}
_WORKSPACE: Final = {
    "name": "workspace",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The workspace id",
}


def _get(
    summary: str,
    ok: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    errors: dict[str, Any] | None = None,
) -> dict[str, Any]:
    responses = {"200": ok, **(errors or {})}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = list(params)
    return {"get": operation}


def _path_param(name: str, text: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": text,
    }


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route."""
    (_, components) = msgspec.json.schema_components(_TYPES, ref_template=_REF)
    paths: dict[str, Any] = {
        "/healthz": _get("Liveness: the process serves", _json(_ref(Health), "Alive")),
        "/readyz": _get(
            "Readiness: the journal is recovered and followed",
            _json(_ref(Health), "Ready"),
            errors={"503": _json(_ref(Health), "Still recovering")},
        ),
        "/metrics": _get(
            "The projections in the Prometheus text exposition format",
            {
                "description": "Metrics",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
        ),
        "/openapi.json": _get("This document", _json({"type": "object"}, "The OpenAPI document")),
        "/": _get(
            "The live dashboard",
            {"description": "HTML page", "content": {"text/html": {"schema": {"type": "string"}}}},
        ),
        "/api/v1/status": _get("What is followed, how far", _json(_ref(ServiceStatus), "Status")),
        "/api/v1/workspaces": _get("The workspaces", _json(_ref(Workspaces), "Workspaces")),
        "/api/v1/report": _get(
            "The report of every workspace, as `triage report --json`",
            _json(
                {
                    "type": "object",
                    "properties": {
                        "": {
                            "type": "object",
                            "description": "not a workspace: the dead letters of the log",
                            "properties": {
                                "dead_letters": {
                                    "type": "object",
                                    "required": ["total", "by_source"],
                                    "properties": {
                                        "total": {"type": "integer", "minimum": 0},
                                        "by_source": {
                                            "type": "object",
                                            "additionalProperties": {"type": "integer"},
                                        },
                                        "retried": {
                                            "type": "integer",
                                            "minimum": 0,
                                            "description": "how many have been retried; "
                                            "the others are open",
                                        },
                                    },
                                }
                            },
                        }
                    },
                    "additionalProperties": _ref(WorkspaceReport),
                },
                'Reports keyed by workspace, and the dead letters under the key ""',
            ),
        ),
        "/api/v1/deadletters": _get(
            "Records that never became events", _json(_ref(DeadLetters), "Dead letters")
        ),
        "/api/v1/dashboard": _get(
            "The dashboard's data for the first workspace",
            _json({"type": "object"}, "Dashboard data"),
            errors=_NOT_FOUND,
        ),
        "/api/v1/workspaces/{workspace}/report": _get(
            "One workspace's report",
            _json(_ref(WorkspaceReport), "Report"),
            params=[_WORKSPACE],
            errors=_NOT_FOUND,
        ),
        "/api/v1/workspaces/{workspace}/objectives": _get(
            "One workspace's objectives, evaluated",
            _json(_ref(WorkspaceObjectives), "Objectives"),
            params=[_WORKSPACE],
            errors=_NOT_FOUND,
        ),
        "/api/v1/workspaces/{workspace}/queue": _get(
            "The waiting tasks in queue order: priority, then age, then id",
            _json(_ref(Queue), "Queue"),
            params=[
                _WORKSPACE,
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100},
                },
            ],
            errors={**_NOT_FOUND, "400": _json(_ref(ApiError), "Bad limit")},
        ),
        "/api/v1/workspaces/{workspace}/dashboard": _get(
            "The dashboard's data for one workspace",
            _json({"type": "object"}, "Dashboard data"),
            params=[_WORKSPACE],
            errors=_NOT_FOUND,
        ),
        "/api/v1/workspaces/{workspace}/tasks/{task}/history": _get(
            "A task's events from the log",
            _json(_ref(TaskHistory), "History"),
            params=[_WORKSPACE, _path_param("task", "The task id")],
            errors=_NOT_FOUND,
        ),
        "/api/v1/workspaces/{workspace}/experts/{expert}": _get(
            "An expert's profile, status, load and record",
            _json(_ref(ExpertProfileResponse), "Expert"),
            params=[_WORKSPACE, _path_param("expert", "The expert id")],
            errors=_NOT_FOUND,
        ),
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Triage",
            "version": "1",
            "description": "Read-only views of a Triage journal: reports, tasks, experts, the "
            "queue, objectives, dead letters, probes and metrics. See docs/http.md.",
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
        "paths": paths,
    }
    # Through JSON once: msgspec writes tuple defaults as tuples, JSON as arrays.
    return msgspec.json.decode(msgspec.json.encode(document))  # type: ignore[no-any-return]
