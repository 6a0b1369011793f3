"""The migrations live in `migrations/` at the top of the repository, and both ways of running them work.

`alembic upgrade head` from a clone is what an Alembic user tries first; `pitcrew db upgrade` is what
a deploy runs (Procfile, Railway's pre-deploy command) from wherever pitcrew was installed with a
regular `pip install .`, where no checkout is around. The second is easy to break without noticing,
since an editable install reads the checkout: hence a real wheel, installed into a fresh venv.
"""

from __future__ import annotations

import os
import shutil
import site
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg

from tests.fixtures import ADMIN_DSN, skip_without_postgres

REPO = Path(__file__).resolve().parent.parent
REVISIONS = sorted(path.name.split("_", 1)[0] for path in (REPO / "migrations" / "versions").glob("0*.py"))
HEAD = REVISIONS[-1]


def _environment(**env: str) -> dict[str, str]:
    """The environment of the test run, without anything that would point Python at the checkout."""
    environment = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "DATABASE_URL", "VIRTUAL_ENV"}}
    environment.update(env)
    return environment


def _sqlite_revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_the_migrations_are_at_the_top_level_and_alembic_ini_points_at_them():
    assert (REPO / "alembic.ini").is_file()
    assert (REPO / "migrations" / "env.py").is_file()
    assert not (REPO / "app" / "migrations").exists()
    assert REVISIONS[0] == "0001" and len(REVISIONS) >= 9


def test_alembic_upgrade_head_from_the_repository_root_reads_database_url(tmp_path):
    database = tmp_path / "from-clone.db"
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=REPO,
        env=_environment(DATABASE_URL=f"sqlite:///{database}"), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _sqlite_revision(database) == HEAD
    assert f"-> {HEAD}" in result.stderr  # alembic.ini's logging: each revision is named as it is applied
    assert not (REPO / "pitcrew.db").exists()  # the URL given was used, not the default


def test_alembic_upgrade_head_takes_postgres_urls_as_platforms_give_them():
    skip_without_postgres()
    name = f"pitcrew_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        # Railway and Heroku say postgres://, which SQLAlchemy alone refuses.
        url = "postgres://" + ADMIN_DSN.removeprefix("postgresql://").rsplit("/", 1)[0] + f"/{name}"
        result = subprocess.run(
            [sys.executable, "-m", "alembic", "upgrade", "head"], cwd=REPO, env=_environment(DATABASE_URL=url),
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        database = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
        with psycopg.connect(database) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == HEAD
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_regular_install_migrates_from_any_directory_with_no_checkout_around(tmp_path):
    # Built from a copy of what a source distribution holds: setuptools writes build/ into the tree it
    # builds, and a stale build/ in the checkout could put files in a later wheel that the sources no longer have.
    source = tmp_path / "source"
    source.mkdir()
    for part in ("pyproject.toml", "setup.py", "README.md", "alembic.ini"):
        shutil.copy2(REPO / part, source / part)
    for part in ("app", "migrations"):
        shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(source)],
        env=_environment(PIP_DISABLE_PIP_VERSION_CHECK="1"), capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = wheels.glob("pitcrew-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    # The dependencies come from this test's environment, added as plain paths: their .pth files are not
    # read, so an editable install of pitcrew there (which maps `app` to the checkout) stays out.
    (Path(purelib) / "pitcrew-test-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        env=_environment(PIP_DISABLE_PIP_VERSION_CHECK="1"), capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [python, "-c", "import app, app.store.migrate as m; print(app.__file__); print(m.migrations_directory())"],
        cwd=elsewhere, env=_environment(), check=True, capture_output=True, text=True,
    ).stdout.split()
    assert where[0].startswith(purelib) and where[1] == str(Path(purelib) / "app" / "_migrations"), where

    database = tmp_path / "installed.db"
    result = subprocess.run(
        [venv / "bin" / "pitcrew", "db", "upgrade"], cwd=elsewhere,
        env=_environment(DATABASE_URL=f"sqlite:///{database}"), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"applied {len(REVISIONS)} migrations" in result.stdout
    assert _sqlite_revision(database) == HEAD
    assert not list(elsewhere.iterdir())  # nothing written where it ran
