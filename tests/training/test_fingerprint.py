"""The data fingerprint a training run is tagged with: each table file's SHA-256, as `sha256sum`
prints it, so an engineer can tell which data a model learned from."""

from __future__ import annotations

import hashlib
from pathlib import Path

from earlywarn.contract import load_tables
from earlywarn.training.tracking import data_fingerprint


def test_each_table_file_is_fingerprinted_by_its_sha256(small_institution: Path) -> None:
    tables = load_tables(small_institution)
    print_ = data_fingerprint(tables, small_institution, "2024-06-01")
    files = print_["tables"]
    assert "activity" in files
    for entry in files.values():
        path = small_institution / entry["file"]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    combined = hashlib.sha256()
    for name, frame in tables.present().items():
        combined.update(f"{name}:{files[name]['sha256']}".encode())
        assert files[name]["rows"] == len(frame)
    assert print_["sha256"] == combined.hexdigest()
