"""Which grid cells DVC does not have yet: the planner behind `python -m bnonly.slurm submit`.

A cell is one training stage of the grid (``grid_train@<run>-<seed>``) with its analysis stage where the grid
analyses it (``grid_analyze@<run>-<seed>``). DVC has a stage when the
outputs it would produce are known and in the cache: either dvc.lock records it with the dependencies the
workspace has now, or the run-cache holds a run with exactly these dependencies (``dvc repro`` then restores
it instead of running it). The planner reads both without running anything and without touching the
workspace. The shared stages (``grid_recipe``, ``grid_prepare``) are planned the same way first, so that a
cell's dependency on their outputs is known even when the workspace itself has not reproduced them since
grid.yaml changed: the run-cache entry of the upstream stage names the outputs the cell would read. A
``grid_recipe`` that DVC has not got (grid.yaml was edited) is cheap: it runs in a temporary folder.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SHARED_STAGES = ('grid_recipe', 'grid_prepare')
RECIPE_STAGE = 'grid_recipe'            # cheap (no torch): run in a temporary folder when DVC has not got it
TRAIN_STAGE = 'grid_train'
ANALYZE_STAGE = 'grid_analyze'


@dataclass(frozen=True)
class Cell:
    """One array task: a training stage and, where the grid analyses it, its analysis stage."""
    name: str                       # the training stage, e.g. grid_train@cifar_resnet14-bn_only-3
    stages: tuple[str, ...]

    @property
    def slug(self) -> str:
        """A file-name-safe form of the name (folders, logs)."""
        return self.name.replace('@', '.')


@dataclass
class Plan:
    cells: list[Cell]                       # every cell of the grid, after --cells
    missing: list[Cell]                     # the cells DVC has not got
    shared_ready: bool                      # grid_recipe and grid_prepare are known (no preparation job needed)
    grid_files: list[str] = field(default_factory=list)     # files the tasks copy from the workspace
    sources: list[str] = field(default_factory=list)        # what the planned stages read from git
    # stage -> 'lock' | 'run-cache' | 'computed' (grid_recipe, run in a temporary folder) | 'missing'
    stage_state: dict[str, str] = field(default_factory=dict)


def grid_cells(stage_names: list[str]) -> list[Cell]:
    """The cells named by the workspace's stages, in dvc.yaml order."""
    names = set(stage_names)
    cells = []
    for name in stage_names:
        kind, _, item = name.partition('@')
        if kind == TRAIN_STAGE and item:
            analysis = f'{ANALYZE_STAGE}@{item}'
            with_analysis = analysis in names
            cells.append(Cell(name, (name, analysis) if with_analysis else (name,)))
    return cells


def select(cells: list[Cell], pattern: str | None) -> list[Cell]:
    """The cells any of whose stage names matches ``pattern`` (re.search); all cells without one."""
    if not pattern:
        return cells
    regex = re.compile(pattern)
    return [cell for cell in cells if any(regex.search(stage) for stage in cell.stages)]


def grid_files(root: Path) -> list[str]:
    """The grid's parameter files: dvc.yaml's ``vars`` files (grid.yaml), which tasks copy from the workspace."""
    spec = yaml.safe_load((root / 'dvc.yaml').read_text()) or {}
    files = []
    for entry in spec.get('vars', []):
        if isinstance(entry, str):
            path = entry.split(':', 1)[0]
            if (root / path).is_file() and path not in files:
                files.append(path)
    return files


class _Availability:
    """What DVC would produce for each stage, computed in dependency order from the workspace and caches."""

    def __init__(self, repo):
        from dvc.stage.cache import StageCache
        self.repo = repo
        self.odb = repo.cache.local
        self.run_cache = StageCache(repo)
        self.known: dict[str, tuple] = {}       # out path -> (HashInfo, Meta) it will have
        self.produced: set[str] = set()         # out paths of the planned stages
        self.saved: dict[str, tuple] = {}       # dependency path -> (HashInfo, Meta) in the workspace
        self.sources: set[str] = {'dvc.yaml'}   # dependencies that no planned stage produces

    def _in_cache(self, entry: dict) -> bool:
        value = entry.get('md5')
        return bool(value) and os.path.exists(self.odb.oid_to_path(value))

    def _fill_deps(self, stage) -> bool:
        """Set each dependency's hash to what the stage would read; False when one is not known."""
        from dvc.dependency.param import ParamsDependency
        known = True
        for dep in stage.deps:
            path = dep.def_path
            if isinstance(dep, ParamsDependency):
                dep.save()
            elif path in self.produced:
                if path in self.known:
                    dep.hash_info, dep.meta = self.known[path]
                else:
                    known = False
            else:
                self.sources.add(path)
                if path not in self.saved:
                    self.saved[path] = None
                    if dep.exists:
                        dep.save()
                        self.saved[path] = (dep.hash_info, dep.meta)
                if self.saved[path] is None:
                    known = False
                else:
                    dep.hash_info, dep.meta = self.saved[path]
        return known

    def plan(self, stage) -> str:
        """'lock' or 'run-cache' when DVC has the stage's outputs, else 'missing'; records its outputs."""
        from dvc.stage.cache import _get_cache_hash
        from dvc.stage.serialize import to_single_stage_lockfile
        from dvc_data.hashfile.hash_info import HashInfo
        from dvc_data.hashfile.meta import Meta

        locked = None
        if stage.outs and all(out.hash_info for out in stage.outs):
            locked = to_single_stage_lockfile(stage)
        self.produced.update(out.def_path for out in stage.outs)
        if not self._fill_deps(stage):
            return 'missing'
        wanted = to_single_stage_lockfile(stage)
        source, entry = 'missing', None
        # A lock entry whose outputs the cache lacks (a lock committed from another machine's run) says nothing
        # about this cache: the run-cache may still hold this machine's run of the same dependencies.
        if locked and all(locked.get(k) == wanted.get(k) for k in ('cmd', 'deps', 'params')) and \
                all(self._in_cache(out) for out in locked.get('outs', [])):
            source, entry = 'lock', locked
        else:
            key = _get_cache_hash(dict(wanted), key=True)
            folder = Path(self.run_cache._get_cache_dir(key))
            if folder.is_dir():
                newest = max(folder.iterdir(), key=lambda p: p.stat().st_mtime, default=None)
                cached = newest and self.run_cache._load_cache(key, newest.name)
                if cached and all(self._in_cache(out) for out in cached.get('outs', [])):
                    source, entry = 'run-cache', cached
        if entry is None:
            return 'missing'
        for out in entry['outs']:
            hash_info = HashInfo('md5', out['md5'])
            self.known[out['path']] = (hash_info, Meta(isdir=hash_info.isdir, size=out.get('size'),
                                                       nfiles=out.get('nfiles')))
        return source


    def compute(self, stage, root: Path) -> str:
        """'computed' after running a cheap stage (grid_recipe) in a temporary folder to learn its outputs,
        else 'missing'. The folder links to the workspace's code and parameter files; the stage writes only
        there, so an edited grid.yaml is planned without touching the workspace."""
        from dvc_data.hashfile.hash_info import HashInfo
        from dvc_data.hashfile.meta import Meta

        def top(path: str) -> str:
            return Path(path).parts[0]
        reads = {top(dep.def_path) for dep in stage.deps}
        if reads & {top(out.def_path) for out in stage.outs}:
            return 'missing'                    # a link would let the stage write into the workspace
        env = {key: value for key, value in os.environ.items() if key != 'BNONLY_TIMING_LOG'}
        env.update(PATH=f'{Path(sys.executable).parent}{os.pathsep}{env.get("PATH", "")}',
                   PYTHONPATH=os.pathsep.join(filter(None, [str(root / 'src'), env.get('PYTHONPATH')])))
        with tempfile.TemporaryDirectory(prefix='bnonly-plan-') as folder:
            for name in reads:
                Path(folder, name).symlink_to(root / name)
            if subprocess.run(stage.cmd, shell=True, cwd=folder, env=env, capture_output=True).returncode != 0:
                return 'missing'
            for out in stage.outs:
                path = Path(folder, out.def_path)
                if not path.is_file():
                    return 'missing'
                data = path.read_bytes()
                self.known[out.def_path] = (HashInfo('md5', hashlib.md5(data).hexdigest()), Meta(size=len(data)))
        return 'computed'


def plan(root: Path, pattern: str | None = None) -> Plan:
    """The grid's cells in ``root`` and which of them DVC has not got (read-only)."""
    from dvc.repo import Repo

    root = Path(root).resolve()
    with Repo(str(root)) as repo:
        stages = {stage.addressing: stage for stage in repo.index.stages}
        cells = grid_cells(list(stages))
        chosen = select(cells, pattern)
        availability = _Availability(repo)
        state: dict[str, str] = {}
        for name in SHARED_STAGES:
            if name in stages:
                state[name] = availability.plan(stages[name])
                if state[name] == 'missing' and name == RECIPE_STAGE:
                    state[name] = availability.compute(stages[name], root)
        # Every training stage before any analysis: an analysis depends on its cell's model.
        for cell in chosen:
            state[cell.stages[0]] = availability.plan(stages[cell.stages[0]])
        for cell in chosen:
            for name in cell.stages[1:]:
                state[name] = availability.plan(stages[name])
    missing = [cell for cell in chosen if any(state[name] == 'missing' for name in cell.stages)]
    shared_ready = all(state.get(name) != 'missing' for name in SHARED_STAGES)
    return Plan(cells=chosen, missing=missing, shared_ready=shared_ready, grid_files=grid_files(root),
                sources=sorted(availability.sources), stage_state=state)
