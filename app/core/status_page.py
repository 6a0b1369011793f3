"""What the public status page may say about an incident: whether it appears, under which title.

The page is read by customers, so it says less than Slack does, and only what people chose to say:
- An incident opened by an alert shows a neutral title (`Service disruption: Public API`): the
  alert's own text was written by a machine for engineers (a query, a host, an error message) and
  is never published. Titles and updates written by people are shown as written.
- An incident appears only when it is public: marked so with `/incident <id> public`, or, unmarked,
  when its service is one of the page's components (or it has no service) and the catalog's
  `default_visibility` is public. A declared security incident is private until someone says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from app.core.incidents import IncidentView

NEUTRAL_TITLE = "Service disruption"
VISIBILITIES = ("public", "private")
# A declared incident is a security incident when its title starts with one of these (any case).
SECURITY_MARKERS = ("security:", "[security]")
# Component states, worst first, in the words status pages commonly use.
_COMPONENT_STATE = {"SEV1": "major_outage", "SEV2": "partial_outage", "SEV3": "degraded", "SEV4": "degraded"}
_STATE_RANK = {"major_outage": 3, "partial_outage": 2, "degraded": 1, "operational": 0}


@dataclass(frozen=True)
class PagePolicy:
    """The catalog's say on the page: service → public name of each component, and the default."""

    components: Mapping[str, str]
    default_visibility: str = "public"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    status: str  # operational, degraded, partial_outage or major_outage


def page_policy(components: Mapping[str, str] | None, services: Iterable[str], default_visibility: str) -> PagePolicy:
    """Every service under its own name when the catalog lists no components."""
    named = dict(components) if components is not None else {name: name for name in sorted(services)}
    return PagePolicy(components=named, default_visibility=default_visibility)


def is_security_title(title: str) -> bool:
    """`/incident declare SEV1 security: leaked API key` declares a security incident."""
    lowered = title.strip().lower()
    return any(lowered.startswith(marker) for marker in SECURITY_MARKERS)


def declared_visibility(title: str) -> str | None:
    """What a newly declared incident is marked: private for a security incident, else the catalog's."""
    return "private" if is_security_title(title) else None


def is_alert_born(view: IncidentView) -> bool:
    return view.declared_by is None and view.source is not None


def affected(view: IncidentView) -> list[str]:
    """The services an incident is about: its own (the suspected cause, once known), then those of its
    joined alerts (a `depends_on` outage: db, and the api and web that failed with it)."""
    return list(dict.fromkeys(s for s in (view.service, *(a.service for a in view.related)) if s))


def is_public(view: IncidentView, policy: PagePolicy) -> bool:
    if view.visibility in VISIBILITIES:
        return view.visibility == "public"
    services = affected(view)
    if services and not any(s in policy.components for s in services):
        return False  # internal services only: nothing is said about it unless someone chooses to
    return policy.default_visibility == "public"


def public_title(view: IncidentView, policy: PagePolicy) -> str:
    """A person's title as written; an alert's incident under the public names of the components it
    affects (`Service disruption: Database, Public API`), never a machine's words."""
    if not is_alert_born(view):
        return view.title
    names = [policy.components[s] for s in affected(view) if s in policy.components]
    return f"{NEUTRAL_TITLE}: {', '.join(names)}" if names else NEUTRAL_TITLE


def component_statuses(policy: PagePolicy, open_public: Sequence[IncidentView]) -> list[ComponentStatus]:
    """Each component, in the catalog's order, with the worst state its open public incidents give it."""
    worst: dict[str, str] = {}
    for view in open_public:
        if not view.is_open:
            continue
        for service in affected(view):
            if service in policy.components:
                state = _COMPONENT_STATE.get(view.severity, "degraded")
                if _STATE_RANK[state] > _STATE_RANK[worst.get(service, "operational")]:
                    worst[service] = state
    return [ComponentStatus(name, worst.get(service, "operational")) for service, name in policy.components.items()]
