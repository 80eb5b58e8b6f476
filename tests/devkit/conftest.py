"""Fixtures for the dev kit tests: tiny synthetic datasets, generated once per session."""

from __future__ import annotations

import pytest

from imdb_devkit import synth
from tests.devkit.synth_helpers import TINY_SCALE, SynthSet


@pytest.fixture(scope="session")
def synth_dirty(tmp_path_factory: pytest.TempPathFactory) -> SynthSet:
    out = tmp_path_factory.mktemp("synth-dirty")
    return SynthSet(out, synth.generate(out, TINY_SCALE, seed=7, also_plain=True))


@pytest.fixture(scope="session")
def synth_clean(tmp_path_factory: pytest.TempPathFactory) -> SynthSet:
    out = tmp_path_factory.mktemp("synth-clean")
    return SynthSet(out, synth.generate(out, TINY_SCALE, seed=7, clean=True))
