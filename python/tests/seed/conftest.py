"""The seed's own test suite (numblr/datagenerator's test/ folder, its resources in test/resources)
runs against datagen.compat. Its tests open 'test/resources/...' relative to the working
directory, as they did from the seed's root: each test here runs in this folder."""

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

pytest.importorskip("pandas", reason="datagen.compat needs pandas (pip install datagen[compat])")
pytest.importorskip("sklearn", reason="the seed's tests use scikit-learn's LabelEncoder (pip install datagen[compat])")


@pytest.fixture(autouse=True)
def _in_the_seed_root(monkeypatch):
    monkeypatch.chdir(HERE)
