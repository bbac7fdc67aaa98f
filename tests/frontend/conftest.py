"""The front-end tests check TF semantics, not code generation: they run sessions on the
reference interpreter, which needs no compile step (tests/frontend/test_native_session.py
covers the native engine, the default)."""

import pytest

from tfc import session


@pytest.fixture(autouse=True)
def interpreter_engine(monkeypatch):
    monkeypatch.setattr(session, "DEFAULT_ENGINE", "interpreter")
