"""The masker of what pitcrew keeps or shows without asking anyone: alerts, and stored Slack requests.

`/logs` builds a masker per request from the service's Railway or Vercel variables; an alert
cannot wait for that: a storm brings thousands a second, and a provider call per alert would
stall them and hammer the provider. So the alert masker knows, by exact value:
- pitcrew's own secrets (its Slack, Railway, Vercel, webhook and status page tokens), and
- the DSNs of the catalog's postgres services, read from this process's environment
  (`postgres.dsn_env`): the password of the database pitcrew watches is the one most likely
  to show up in a connection error,
and everything else by shape (passwords in URLs, `key=value` secrets, bearer tokens, JWTs,
provider key prefixes). It is built once per settings, catalog and environment, and reused.
The Slack requests kept as jobs are masked with it once they have run (app/slack/deferral.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from app.catalog import Catalog
from app.core.masking import Masker
from app.deps import Deps
from app.settings import Settings

_BUILT: dict[tuple[int, int, int], tuple[Settings, Catalog, Mapping[str, str], Masker]] = {}


def known_masker(deps: Deps) -> Masker:
    """The masker for these deps; built on first use, then shared by every webhook."""
    key = (id(deps.settings), id(deps.catalog), id(deps.environ))
    cached = _BUILT.get(key)
    if cached is not None and cached[0] is deps.settings and cached[1] is deps.catalog and cached[2] is deps.environ:
        return cached[3]
    masker = Masker.for_variables(known_variables(deps.settings, deps.catalog, deps.environ))
    if len(_BUILT) > 16:
        _BUILT.clear()
    _BUILT[key] = (deps.settings, deps.catalog, deps.environ, masker)
    return masker


def known_variables(settings: Settings, catalog: Catalog, environ: Mapping[str, str]) -> dict[str, str]:
    """The values pitcrew holds that an alert must never show, named so `Masker.for_variables` takes
    each for a secret (of a DSN, it masks the password and keeps the host readable)."""
    known = {f"PITCREW_{n}_SECRET": value for n, value in enumerate(settings.secret_values())}
    for service in catalog.services.values():
        if service.postgres is not None:
            dsn = environ.get(service.postgres.dsn_env)
            if dsn:
                known[service.postgres.dsn_env] = dsn
    return known
