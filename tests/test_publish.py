"""Publishing is one atomic step: a run killed at any point of the publish leaves outputs/<region>
holding the whole old set or the whole new one, with checksums matching its manifest."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import REPO

from aiddeserts.stages.publish import publish, versions_dir

PRODUCTS = ["density.tif", "tracts.gpkg", "map.html", "summary.json", "manifest.json"]

#: Runs publish() with every file-system step counted; SIGKILLs itself at step `kill_at`.
KILLER = textwrap.dedent("""
    import json, os, shutil, signal, sys
    from pathlib import Path
    from aiddeserts.stages import publish as mod
    kill_at, args = int(sys.argv[1]), json.loads(sys.argv[2])
    count = [0]
    def counted(fn):
        def wrapper(*a, **k):
            count[0] += 1
            if count[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return fn(*a, **k)
        return wrapper
    for name in ("copyfile", "rmtree"):
        setattr(mod.shutil, name, counted(getattr(shutil, name)))
    for name in ("replace", "symlink", "chmod", "fsync", "unlink"):
        setattr(mod.os, name, counted(getattr(os, name)))
    mod._write_json = counted(mod._write_json)
    Path.touch = counted(Path.touch)
    Path.mkdir = counted(Path.mkdir)
    mod.publish(*args)
    print("steps", count[0])
""")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage(directory: Path, label: str) -> list[str]:
    """A staged set whose manifest vouches for every other file."""
    directory.mkdir(parents=True)
    for name in PRODUCTS[:-1]:
        text = json.dumps({"set": label}) if name == "summary.json" else f"{label} {name}"
        (directory / name).write_text(text)
    (directory / "manifest.json").write_text(json.dumps({"set": label, "outputs": [
        {"file": n, "sha256": sha(directory / n)} for n in PRODUCTS[:-1]]}))
    return [str(directory / n) for n in PRODUCTS]


def published_set(region: Path) -> str:
    """'old' or 'new': which whole set outputs/<region> shows; fails on a mix or a bad checksum."""
    names = sorted(p.name for p in region.iterdir())
    assert names == sorted(PRODUCTS), names
    manifest = json.loads((region / "manifest.json").read_text())
    for entry in manifest["outputs"]:
        assert sha(region / entry["file"]) == entry["sha256"], entry["file"]
    labels = {json.loads((region / "summary.json").read_text())["set"], manifest["set"]}
    labels |= {(region / n).read_text().split()[0] for n in PRODUCTS[:-2] if n != "summary.json"}
    assert len(labels) == 1, f"a mixed set: {labels}"
    return labels.pop()


def test_a_kill_at_every_step_of_publish_leaves_the_old_or_the_new_set(tmp_path):
    outputs = tmp_path / "outputs"
    region = outputs / "r"
    report = tmp_path / "audit.json"
    report.write_text(json.dumps({"checked": 1}))
    old = stage(tmp_path / "stage_old", "old")
    new = stage(tmp_path / "stage_new", "new")
    targets = [str(region / n) for n in PRODUCTS]
    publish(old, targets, str(report))
    assert published_set(region) == "old"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    seen, step = set(), 1
    while True:
        run = subprocess.run([sys.executable, "-c", KILLER, str(step),
                              json.dumps([new, targets, str(report)])],
                             capture_output=True, text=True, env=env)
        if run.returncode == 0:
            break
        assert run.returncode == -signal.SIGKILL, run.stderr
        seen.add(published_set(region))
        # The next run recovers: the new set, complete, and no debris beyond the kept version.
        publish(new, targets, str(report))
        assert published_set(region) == "new"
        assert len([p for p in versions_dir(region).iterdir() if p.is_dir()]) <= 2
        assert not [p for p in outputs.iterdir() if p.name.startswith(".r.")]
        publish(old, targets, str(report))  # back to the old set for the next kill
        step += 1
    assert step > 10, "the publish was not exercised step by step"
    assert seen == {"old", "new"}  # killed before the swap: old; after: new
    assert published_set(region) == "new"
    summary = json.loads((region / "summary.json").read_text())
    assert summary["privacy"] == {"checked": 1}


def test_published_files_honour_the_umask(tmp_path):
    old_mask = os.umask(0o022)
    try:
        region = tmp_path / "outputs" / "r"
        publish(stage(tmp_path / "s", "old"), [str(region / n) for n in PRODUCTS])
    finally:
        os.umask(old_mask)
    for path in region.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def test_a_directory_from_before_versioned_publishing_is_taken_over(tmp_path):
    region = tmp_path / "outputs" / "r"
    region.mkdir(parents=True)
    (region / "map.html").write_text("from an old release")
    (region / ".map.html.tmp123.html").write_text("debris of a killed run")
    publish(stage(tmp_path / "s", "new"), [str(region / n) for n in PRODUCTS])
    assert region.is_symlink() and published_set(region) == "new"
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == [".versions", "r"]
