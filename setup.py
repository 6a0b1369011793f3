"""The one thing pyproject.toml cannot say: ship the top-level `migrations/` inside the package.

The Alembic scripts live at the repository's root (next to `alembic.ini`, as Alembic users expect), but
`pitcrew db upgrade` must find them after a plain `pip install .` with no checkout around. So the
wheel carries them as `app._migrations`, mapped from `migrations/` by `package_dir`. pyproject.toml
takes either a literal list of packages or a `find` directive, not a found list plus two more, and a
literal list would have to be kept in step with every new package of `app/` (forgetting one ships a
wheel without it); hence these lines. Everything else stays in pyproject.toml.

Editable installs need no mapping: `app/store/migrate.py` reads `migrations/` beside `app/` when the
package has no `_migrations` copy.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["app", "app.*"]), "app._migrations", "app._migrations.versions"],
    package_dir={"app._migrations": "migrations"},
)
