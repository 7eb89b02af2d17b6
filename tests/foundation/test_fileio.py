"""Staged files: written under temporary names, made durable and put in place together."""

from __future__ import annotations

import errno
import os
import stat

import pytest

import arcli.fileio
from arcli.fileio import StagedFiles


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_staged_files_appear_only_when_committed_whole_and_readable(tmp_path):
    (tmp_path / "b.pdf").write_bytes(b"old b")
    files = StagedFiles()
    files.stage(tmp_path / "a.pdf", b"A" * 70_000)
    files.stage(tmp_path / "b.pdf", b"new b")
    assert len(files) == 2
    assert not (tmp_path / "a.pdf").exists()  # nothing under a final name before commit
    assert (tmp_path / "b.pdf").read_bytes() == b"old b"
    assert len(_leftovers(tmp_path)) == 2

    assert files.commit() == {}
    assert (tmp_path / "a.pdf").read_bytes() == b"A" * 70_000
    assert (tmp_path / "b.pdf").read_bytes() == b"new b"
    assert stat.S_IMODE((tmp_path / "a.pdf").stat().st_mode) == arcli.fileio.new_file_mode()
    assert _leftovers(tmp_path) == [] and len(files) == 0
    assert files.commit() == {}  # an empty group is fine


def test_one_sync_of_the_filesystem_per_group_and_an_fsync_per_file(tmp_path, monkeypatch):
    synced, fsynced = [], []
    monkeypatch.setattr(arcli.fileio, "_sync_filesystem", synced.append)
    real_fsync = os.fsync
    monkeypatch.setattr(arcli.fileio.os, "fsync",
                        lambda fd: (fsynced.append(os.readlink(f"/proc/self/fd/{fd}")),
                                    real_fsync(fd))[1])
    files = StagedFiles()
    for name in ("a", "b", "c"):
        files.stage(tmp_path / f"{name}.pdf", name.encode())
    files.commit()
    assert len(synced) == 1
    names = [os.path.basename(p) for p in fsynced]
    assert [n.split(".")[1] for n in names[:3]] == ["a", "b", "c"]  # each temporary file
    assert names[3:] == [tmp_path.name]  # and the folder, after the renames


def test_a_file_that_cannot_be_synced_is_reported_and_the_others_land(
        tmp_path, disk_full_when_syncing):
    disk_full_when_syncing(".b.pdf.")
    files = StagedFiles()
    for name in ("a", "b", "c"):
        files.stage(tmp_path / f"{name}.pdf", name.encode())
    failed = files.commit()
    assert list(failed) == [tmp_path / "b.pdf"]
    assert failed[tmp_path / "b.pdf"].errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "c.pdf"]


def test_discard_removes_what_was_staged_and_keeps_the_old_files(tmp_path):
    (tmp_path / "a.pdf").write_bytes(b"old a")
    files = StagedFiles()
    files.stage(tmp_path / "a.pdf", b"new a")
    files.stage(tmp_path / "b.pdf", b"new b")
    files.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf"]
    assert (tmp_path / "a.pdf").read_bytes() == b"old a"


def test_a_write_that_fails_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full_disk(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(arcli.fileio.os, "write", full_disk)
    files = StagedFiles()
    with pytest.raises(OSError):
        files.stage(tmp_path / "a.pdf", b"data")
    assert list(tmp_path.iterdir()) == [] and len(files) == 0


def test_an_interrupt_while_committing_removes_the_rest(tmp_path, monkeypatch):
    real_replace = os.replace
    calls = []

    def interrupted_at_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(arcli.fileio.os, "replace", interrupted_at_second)
    files = StagedFiles()
    for name in ("a", "b", "c"):
        files.stage(tmp_path / f"{name}.pdf", name.encode())
    with pytest.raises(KeyboardInterrupt):
        files.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # files, not the book
@pytest.mark.parametrize(("umask", "mode"), [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)],
                         ids=["umask-077", "umask-022", "umask-002"])
def test_files_are_written_with_the_users_umask(example_book, tmp_path, umask, mode):
    """Statements, manifests, exports and previews get what the umask gives a new file:
    a user with umask 077 keeps them to themselves, a team with 002 shares them."""
    import shutil
    import subprocess
    import sys

    from tests.conftest import ROOT

    config = tmp_path / "arcli.yaml"
    shutil.copy(ROOT / "config.example.yaml", config)
    work = tmp_path / f"run-{umask:o}"
    work.mkdir()

    def arcli_cli(*args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "arcli", "--db", example_book.db, "--config", str(config),
             *args], cwd=work, check=True, capture_output=True,
            env={**os.environ, "ARCLI_TODAY": "2026-11-22"},
            preexec_fn=lambda: os.umask(umask))

    arcli_cli("statements", "--period", "2026-10", "--out", "st", "--customer", "C001")
    arcli_cli("aging", "--csv", "-o", "aging.csv")
    arcli_cli("dunning", "preview", "C001", "-o", "preview")
    written = [*(work / "st").glob("*.pdf"), work / "st" / "manifest.csv",
               work / "st" / "manifest.json", work / "aging.csv", *(work / "preview").iterdir()]
    assert len(written) == 5
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {
        p.name: oct(mode) for p in written}
