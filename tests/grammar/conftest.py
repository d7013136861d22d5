"""Fixtures for the grammar tests: small hand-written JSONL files."""
import pytest

from grammar_fixtures import DEV, TRAIN, write_jsonl


@pytest.fixture
def train_file(tmp_path):
    return write_jsonl(tmp_path / "train.jsonl", TRAIN)


@pytest.fixture
def dev_file(tmp_path):
    return write_jsonl(tmp_path / "dev.jsonl", DEV)
