"""Checks what pitcrew sends against the providers' published descriptions, not against our own fakes.

The fakes answer whatever our clients ask, so a misspelt GraphQL field or an undeclared query
parameter would pass every round-trip test; these checks make such a mistake fail. The Railway
schema (1.8 MB) and the Vercel OpenAPI file (4 MB) are read once per test run.

The files are the copies in tests/refdata (provenance in each folder's SOURCES.md).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, build_client_schema, parse, validate
from graphql.execution.values import get_variable_values

from tests.refdata import REFDATA

RAILWAY_SCHEMA = REFDATA / "railway" / "schema.json"
VERCEL_SPEC = REFDATA / "vercel" / "vercel-spec.2025-10-27.json"

# Operations Vercel has that this spec file lacks (refdata/vercel/SOURCES.md: vercel/sdk's requestRollback).
EXTRA_VERCEL_OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/projects/{projectId}/rollback/{deploymentId}"): {
        "operationId": "requestRollback",
        "parameters": [
            {"in": "path", "name": "projectId", "required": True, "schema": {"type": "string"}},
            {"in": "path", "name": "deploymentId", "required": True, "schema": {"type": "string"}},
            {"in": "query", "name": "description", "schema": {"type": "string"}},
            {"in": "query", "name": "teamId", "schema": {"type": "string"}},
            {"in": "query", "name": "slug", "schema": {"type": "string"}},
        ],
    },
}


def _load(path: Path) -> Any:
    if not path.is_file():
        raise AssertionError(f"reference file {path} is missing (see tests/refdata/README.md)")
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


# ---- Railway ----------------------------------------------------------------------------------


@cache
def railway_schema() -> GraphQLSchema:
    return build_client_schema(_load(RAILWAY_SCHEMA)["data"])


def validate_railway_document(doc: str, variables: dict[str, Any] | None = None) -> None:
    """Raise AssertionError listing every problem of `doc` against Railway's schema.

    With `variables`, also check that they fit the document's variable definitions (types, required).
    """
    try:
        document = parse(doc)
    except GraphQLError as err:
        raise AssertionError(f"GraphQL document does not parse: {err.message}") from None
    schema = railway_schema()
    errors = [e.message for e in validate(schema, document)]
    if errors:
        raise AssertionError("GraphQL document invalid against Railway's schema:\n  " + "\n  ".join(errors))
    if variables is None:
        return
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        raise AssertionError(f"expected exactly one operation in the document, found {len(operations)}")
    coerced = get_variable_values(schema, operations[0].variable_definitions or (), variables)
    if isinstance(coerced, list):
        listed = "\n  ".join(e.message for e in coerced)
        raise AssertionError(f"variables do not fit the document:\n  {listed}")
    declared = {d.variable.name.value for d in operations[0].variable_definitions or ()}
    extra = sorted(set(variables) - declared)
    if extra:
        raise AssertionError(f"variables not declared by the document: {', '.join(extra)}")


# ---- Vercel -----------------------------------------------------------------------------------


@cache
def _vercel_operations() -> tuple[tuple[re.Pattern[str], str, str, int, dict[str, Any]], ...]:
    """(path regex, template, method, literal segments, operation) for each operation, extras included."""
    spec = _load(VERCEL_SPEC)
    found: list[tuple[re.Pattern[str], str, str, int, dict[str, Any]]] = []

    def add(template: str, method: str, operation: dict[str, Any]) -> None:
        pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
        literal = sum(1 for part in template.split("/") if part and not part.startswith("{"))
        found.append((pattern, template, method.upper(), literal, operation))

    for template, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method.lower() in ("get", "post", "put", "patch", "delete", "head", "options"):
                merged = dict(operation)
                merged["parameters"] = [_resolve(spec, p) for p in shared + operation.get("parameters", [])]
                add(template, method, merged)
    for (method, template), operation in EXTRA_VERCEL_OPERATIONS.items():
        add(template, method, operation)
    return tuple(found)


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validate_vercel_call(method: str, path: str, query: dict[str, Any]) -> None:
    """Raise AssertionError unless `method path` is an operation of Vercel's API and `query` fits it.

    The path must match a template of the spec (or the rollback operation from SOURCES.md); every
    query parameter must be declared by that operation, required ones present, and values must fit
    the declared type and enum.
    """
    method = method.upper()
    matches = [op for op in _vercel_operations() if op[0].match(path)]
    if not matches:
        raise AssertionError(f"{path} matches no path of Vercel's API")
    with_method = [op for op in matches if op[2] == method]
    if not with_method:
        allowed = sorted({op[2] for op in matches})
        raise AssertionError(f"{method} {path}: the API allows only {', '.join(allowed)} there")
    _, template, _, _, operation = max(with_method, key=lambda op: op[3])  # the most literal template wins
    declared = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}
    problems = [f"query parameter {name!r} is not declared" for name in query if name not in declared]
    problems += [
        f"required query parameter {name!r} is missing"
        for name, p in declared.items()
        if p.get("required") and name not in query
    ]
    for name, value in query.items():
        if name in declared:
            problem = _value_problem(declared[name].get("schema", {}), value)
            if problem:
                problems.append(f"query parameter {name!r}={value!r}: {problem}")
    if problems:
        raise AssertionError(f"{method} {template}: " + "; ".join(problems))


def _value_problem(schema: dict[str, Any], value: Any) -> str | None:
    kinds = [schema.get("type")] if schema.get("type") else [s.get("type") for s in schema.get("oneOf", [])]
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if "number" in kinds or "integer" in kinds:
        try:
            number = float(text)
        except ValueError:
            if "string" not in kinds:
                return "not a number"
        else:
            if "enum" in schema and number not in [float(e) for e in schema["enum"]]:
                return f"not one of {schema['enum']}"
            return None
    if kinds == ["boolean"] and text not in ("true", "false", "1", "0"):
        return "not a boolean"
    if "enum" in schema and kinds == ["string"] and text not in schema["enum"]:
        return f"not one of {schema['enum']}"
    return None
