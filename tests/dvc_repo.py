"""A throw-away copy of this project as its own git + DVC repository, for tests that run `dvc` for real.

Stage commands run ``python stages/...`` with the test's interpreter first on PATH; the copy's ``src/`` is
what DVC hashes as dependencies (the code that runs is the installed package, the same files).

A test sees one params dict: the single experiment's params.yaml and the grid's grid.yaml merged (the grid
file holds the ``grid`` and ``figures`` sections); writing it splits them back into their files.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
COPIED = ('dvc.yaml', 'params.yaml', 'grid.yaml', '.dvcignore', 'stages', 'src')
GRID_SECTIONS = ('grid', 'figures')


def merged_params(root: Path = PROJECT) -> dict:
    """params.yaml and grid.yaml of ``root`` as one dict."""
    return {**yaml.safe_load((root / 'params.yaml').read_text()), **yaml.safe_load((root / 'grid.yaml').read_text())}


def dvc_env(root: Path) -> dict:
    env = dict(os.environ)
    # DVC runs stage commands through $SHELL, else /bin/sh, which on Debian (dash) stays between DVC and the
    # stage and changes what a Ctrl-C does (docs/faults.md): the same shell wherever the suite runs.
    env.update(SHELL='/bin/bash')
    env.update(PATH=f'{Path(sys.executable).parent}{os.pathsep}{env.get("PATH", "")}', DVC_NO_ANALYTICS='1',
               DVC_SITE_CACHE_DIR=str(root / '.dvc' / 'tmp' / 'site_cache'), BNONLY_SCRATCH=str(root / '.scratch'),
               GIT_AUTHOR_NAME='test', GIT_AUTHOR_EMAIL='test@example.com', GIT_COMMITTER_NAME='test',
               GIT_COMMITTER_EMAIL='test@example.com', PYTHONDONTWRITEBYTECODE='1', OMP_NUM_THREADS='1')
    return env


class DvcRepo:
    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def create(cls, root: Path, params: dict) -> 'DvcRepo':
        root.mkdir(parents=True)
        for name in COPIED:
            source = PROJECT / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, root / name)
        (root / '.gitignore').write_text('/.scratch/\n')
        repo = cls(root)
        repo.write_params(params)
        repo.run('git', 'init', '-q')
        repo.run('dvc', 'init', '-q')
        repo.run('dvc', 'config', 'core.analytics', 'false')
        repo.commit('project')
        return repo

    def copy(self, root: Path) -> 'DvcRepo':
        shutil.copytree(self.root, root, symlinks=True)
        return DvcRepo(root)

    def run(self, *command: str, check: bool = True, env_extra: dict | None = None,
            **kwargs) -> subprocess.CompletedProcess:
        """``command`` in the repository; ``env_extra`` adds to (or overrides) its environment."""
        result = subprocess.run(command, cwd=self.root, env={**dvc_env(self.root), **(env_extra or {})},
                                capture_output=True, text=True, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f'{" ".join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}')
        return result

    def repro(self, *targets: str, force: bool = False) -> set[str]:
        """Run `dvc repro` and return the names of the stages that actually ran."""
        result = self.run('dvc', 'repro', *(['-f'] if force else []), *targets)
        return {line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("Running stage '")}

    def commit(self, message: str) -> None:
        self.run('git', 'add', '-A')
        self.run('git', 'commit', '-qm', message)

    @property
    def params(self) -> dict:
        return merged_params(self.root)

    def write_params(self, params: dict) -> None:
        single = {key: value for key, value in params.items() if key not in GRID_SECTIONS}
        grid = {key: value for key, value in params.items() if key in GRID_SECTIONS}
        (self.root / 'params.yaml').write_text(yaml.safe_dump(single, sort_keys=False))
        (self.root / 'grid.yaml').write_text(yaml.safe_dump(grid, sort_keys=False))

    def set_param(self, dotted: str, value) -> None:
        params = self.params
        *parents, leaf = dotted.split('.')
        node = params
        for part in parents:
            node = node[part]
        node[leaf] = value
        self.write_params(params)
