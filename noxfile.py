"""nox sessions: `nox` runs tests, lint and typecheck; `nox -s tests` runs the test suite alone."""

from __future__ import annotations

import shutil

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "ace"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True


@nox.session
def tests(session: nox.Session) -> None:
    """Install dreambook with its test extras and run pytest (extra arguments go to pytest)."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the code and tests."""
    session.install(".[lint]")
    session.run("ruff", "check", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src/."""
    # The cluster extra too: mypy reads Dask distributed's types where executors.py uses it.
    session.install(".[typecheck,cluster]")
    session.run("mypy", "src")


@nox.session
def ace(session: nox.Session) -> None:
    """Install the pinned Ace by DAISY (npm) and run the accessibility test on the sample EPUB.

    Ace drives a headless Chromium; the browser is taken from the system (Debian package
    ``chromium``), never downloaded by npm. Without Node.js the test says so and is skipped.
    """
    session.install(".[test]")
    if shutil.which("npm"):
        session.run(
            "npm", "ci", "--no-audit", "--no-fund", "--prefix", "tests/ace",
            external=True, env={"PUPPETEER_SKIP_DOWNLOAD": "1"},
        )  # fmt: skip
    session.run("pytest", "-rs", "tests/e2e/test_ace.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark (python -m dreambook.bench); extra arguments go to it.

    pandoc comes from the system (Debian package ``pandoc``): without it the bench runs but
    compares nothing with pandoc, which this session says before it starts.
    """
    # The cluster extra: the catalogue case builds on a Dask LocalCluster.
    session.install(".[cluster]")
    if shutil.which("pandoc") is None:
        session.warn("pandoc is not installed: the targets measured against pandoc are not judged")
    session.run("python", "-m", "dreambook.bench", *session.posargs)
