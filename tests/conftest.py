"""Shared pytest options."""


def pytest_addoption(parser):
    parser.addoption("--regenerate-golden", action="store_true", default=False,
                     help="Rewrite tests/golden/*.npz from the reference interpreter (on purpose only).")
