"""Shared pytest options."""


def pytest_addoption(parser):
    parser.addoption("--regenerate-golden", action="store_true", default=False,
                     help="Rewrite tests/golden/*.npz from the reference interpreter (on purpose only).")


# On CI, property tests use a fixed seed so that a run is reproducible.
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
