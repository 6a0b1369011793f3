"""The catalog's incident policy as the incident flows use it: response times, update cadence,
quiet period, post-mortem severities, the root message's edit interval, and the escalation steps
with the first responders they page.

Built once per catalog (every webhook asks for it) and otherwise read-only: the deadlines that
follow from it are app/flows/incident_deadlines.py.
"""

from __future__ import annotations

from app.catalog import Catalog
from app.core.incidents import EscalationStep, Policy, escalation_plan, first_responders, make_policy
from app.deps import Deps

_POLICIES: dict[int, tuple[Catalog, Policy]] = {}


def policy_of(deps: Deps) -> Policy:
    """The catalog's incident policy; built once per catalog (every webhook asks for it)."""
    cached = _POLICIES.get(id(deps.catalog))
    if cached is not None and cached[0] is deps.catalog:
        return cached[1]
    if len(_POLICIES) > 64:
        _POLICIES.clear()
    policy = _make_policy(deps.catalog)
    _POLICIES[id(deps.catalog)] = (deps.catalog, policy)  # the catalog is held, so its id is not reused
    return policy


def _make_policy(catalog: Catalog) -> Policy:
    config = catalog.incidents
    return make_policy(
        response_minutes=config.response_minutes,
        update_cadence_minutes=config.update_cadence_minutes,
        quiet_minutes=config.quiet_minutes,
        severity_map=config.severity_map,
        default_severity=config.default_severity,
        postmortem_severities=config.postmortem_severities,
        root_edit_interval_s=config.root_edit_interval_seconds,
    )


def escalation_steps(deps: Deps) -> tuple[EscalationStep, ...]:
    return tuple(
        EscalationStep(
            after_minutes=step.after_minutes,
            notify=tuple(step.notify),
            severities=tuple(step.severities) if step.severities is not None else None,
        )
        for step in deps.catalog.slack.escalation
    )


def first_responder_ids(deps: Deps, severity: str) -> tuple[str, ...]:
    plan = escalation_plan(escalation_steps(deps), severity)
    return tuple(dict.fromkeys(who for step in first_responders(plan) for who in step.notify))
