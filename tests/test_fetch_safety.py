"""Fetching a published best from a crafted or unlucky sweep folder: nothing lands outside the target, a target is
replaced whole or not at all, a user's own folder is never overwritten silently, a malformed manifest is one line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli.main import main
from orchestrator.storage import fetch_best, load_best, publish_best, resolve_storage
from orchestrator.storage.integrity import ManifestError
from test_storage import MANIFEST, make_checkpoint


def published(tmp_path: Path, files: dict[str, bytes], trial: str = "t1") -> tuple[str, Path]:
    """A local sweep with `files` published as its best; returns its URI and best.json's path."""
    sweep = resolve_storage(str(tmp_path / "runs" / "demo"))
    publish_best(sweep, make_checkpoint(tmp_path / f"ck-{trial}", files), {**MANIFEST, "trial_id": trial})
    return sweep.uri, tmp_path / "runs" / "demo" / "best" / "best.json"


def edit_manifest(path: Path, **changes: object) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("version", ["../../../escaped", "/abs/escaped", "..", "a/b"])
def test_cache_path_ignores_crafted_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setenv("HPO_CACHE_DIR", str(tmp_path / "cache" / "hpo"))
    uri, manifest = published(tmp_path, {"authorized_keys": b"ssh-rsa attacker"})
    edit_manifest(manifest, version=version)
    with pytest.raises(ManifestError, match="version .* is not a plain token"):
        load_best(uri)
    written = [p for p in tmp_path.rglob("authorized_keys") if "ck-" not in str(p) and "runs" not in str(p)]
    assert written == []


def test_cache_fetch_lands_under_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPO_CACHE_DIR", str(tmp_path / "cache"))
    uri, _ = published(tmp_path, {"m.bin": b"one"})
    best = load_best(uri)
    assert best.checkpoint_path.is_relative_to(tmp_path / "cache" / "best")
    assert (best.checkpoint_path / "m.bin").read_bytes() == b"one"
    assert load_best(uri).checkpoint_path == best.checkpoint_path   # the second load reuses the fetched version


def test_failed_fetch_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    uri, manifest = published(tmp_path, {"a.bin": b"a1", "b.bin": b"b1", "old-only.bin": b"o"}, "v1")
    target = tmp_path / "got"
    fetch_best(uri, target)
    before = tree(target)
    published(tmp_path, {"a.bin": b"a2", "b.bin": b"b2"}, "v2")
    folder = json.loads(manifest.read_text())["checkpoint_dir"]
    (manifest.parent / folder / "b.bin").write_bytes(b"XX")   # corrupt one file of the new version
    assert main(["fetch", uri, "--to", str(target)]) == 1
    assert tree(target) == before
    (manifest.parent / folder / "b.bin").write_bytes(b"b2")
    fetch_best(uri, target)
    after = tree(target)
    assert {k: v for k, v in after.items() if not k.startswith(".")} == {"a.bin": b"a2", "b.bin": b"b2"}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".got")] == []   # no staging left behind


def test_foreign_target_is_refused_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri, _ = published(tmp_path, {"notes.txt": b"from the sweep"})
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("my own notes")
    assert main(["fetch", uri, "--to", str(target)]) == 2
    err = capsys.readouterr().err
    assert "is not empty" in err and "--force" in err and err.count("\n") == 1
    assert (target / "notes.txt").read_text() == "my own notes"
    assert main(["fetch", uri, "--to", str(target), "--force"]) == 0
    assert (target / "notes.txt").read_bytes() == b"from the sweep"


@pytest.mark.parametrize("files, message", [
    (["model.pt"], "files is a list"),
    ({"model.pt": "abc"}, "files entry 'model.pt' is not"),
    ({}, "files is empty"),
    ({"model.pt": {"sha256": "x", "size": 3}}, "no valid sha256"),
])
def test_malformed_manifest_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], files: object,
                                        message: str) -> None:
    uri, manifest = published(tmp_path, {"model.pt": b"pt"})
    edit_manifest(manifest, files=files)
    assert main(["fetch", uri, "--to", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_target_that_is_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri, _ = published(tmp_path, {"model.pt": b"pt"})
    (tmp_path / "a-file").write_text("x")
    assert main(["fetch", uri, "--to", str(tmp_path / "a-file")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert (tmp_path / "a-file").read_text() == "x"
