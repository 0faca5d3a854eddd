"""The library files a stage script runs: its import closure, which is what a stage lists as its code deps.

The closure is what importing the script loads in a fresh interpreter: every ``bnonly`` module in
``sys.modules`` afterwards, plus the modules the script imports inside a function (``ON_DEMAND``) unless the
stage's command passes the flag that skips them, plus, for each registry the script imports (``CHOSEN``, a
bnonly.registry.Registry), the module of the one entry its command names (``--table paper``: the paper's
table, no other grid's). A module's package data (``DATA_FILES``) counts with the module. Paths are relative
to the project root of this source checkout (the package must be installed editable, as ``make`` does, for
the files to be the ones DVC hashes).

``as_deps`` writes a closure the way the pipelines list it: a folder when every file DVC would hash in it is
in the closure, else the files, so that an edit to a module reruns exactly the stages that run it.
"""
import ast
import functools
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

# Modules a stage script imports inside a function, each with the command-line flag that skips that import.
ON_DEMAND = {'bnonly.analysis.plots': '--no-plots'}
# Registries ('<module>.<name>') a stage script takes one entry of, each with the command-line option that
# names the entry: the entry is loaded on demand, so only its module is imported.
CHOSEN = {'bnonly.claims_tables.TABLES': '--table', 'bnonly.figure_sets.FIGURE_SETS': '--table'}
# Package data a module reads: a stage that imports the module depends on the file too.
DATA_FILES = {'src/bnonly/data/integrity.py': 'src/bnonly/data/checksums.json',
              'src/bnonly/study/registration.py': 'study/registration.yaml',
              'src/bnonly/scope/claims.py': 'scope/registration.yaml',
              'src/bnonly/extensions/claims.py': 'extensions/registration.yaml'}
# What DVC leaves out of a folder's hash (.dvcignore): byte code.
_UNHASHED_DIRS = {'__pycache__'}
_UNHASHED_SUFFIXES = ('.pyc',)

_CLOSURE = '''
import importlib, importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location('stage', sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
for module in sys.argv[2:]:
    importlib.import_module(module)
print(json.dumps(sorted({os.path.relpath(m.__file__) for name, m in list(sys.modules.items())
                         if name.split('.')[0] == 'bnonly' and getattr(m, '__file__', None)})))
'''


def deferred_imports(script: str) -> set[str]:
    """The ``bnonly`` modules ``script`` (relative to the project root) imports inside a function."""
    tree = ast.parse((PROJECT / script).read_text())
    nested = set()
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split('.')[0] == 'bnonly':
                nested.add(node.module)
            elif isinstance(node, ast.Import):
                nested.update(alias.name for alias in node.names if alias.name.split('.')[0] == 'bnonly')
    return nested


def on_demand(script: str, cmd: str) -> tuple[str, ...]:
    """The modules ``script`` imports inside a function that the command line ``cmd`` does not switch off.

    Raises KeyError for such an import that ``ON_DEMAND`` does not know: the closure would miss it."""
    flags = cmd.split()
    return tuple(module for module in sorted(deferred_imports(script)) if ON_DEMAND[module] not in flags)


def _option(cmd: str, option: str) -> str | None:
    """The value the command line ``cmd`` gives ``option`` (``--table X`` or ``--table=X``; the last one wins,
    as with argparse), or None."""
    flags, value = cmd.split(), None
    for number, flag in enumerate(flags):
        if flag == option and number + 1 < len(flags):
            value = flags[number + 1]
        elif flag.startswith(f'{option}='):
            value = flag.partition('=')[2]
    return value


def _source(module: str) -> str:
    """The file of ``module``, relative to the project root, without importing it."""
    return os.path.relpath(importlib.util.find_spec(module).origin, PROJECT)


def chosen(files: set[str], cmd: str) -> tuple[str, ...]:
    """The modules of the registry entries the command line ``cmd`` names, one for each registry in
    ``CHOSEN`` whose module is among the imported ``files``.

    Raises ValueError where ``cmd`` names no entry of such a registry, or one it does not hold: the closure
    would be a guess."""
    entries = []
    for name, option in sorted(CHOSEN.items()):
        module, _, attribute = name.rpartition('.')
        if _source(module) not in files:
            continue
        registry = getattr(importlib.import_module(module), attribute)
        entry = _option(cmd, option)
        if entry not in registry:
            raise ValueError(f'{cmd!r} imports {name} and names none of its entries with {option} '
                             f'(one of {", ".join(registry)})')
        entries.append(registry.modules[entry])
    return tuple(entries)


@functools.cache
def _imported(script: str, modules: tuple[str, ...]) -> frozenset[str]:
    result = subprocess.run([sys.executable, '-c', _CLOSURE, script, *modules], cwd=PROJECT, capture_output=True,
                            text=True)
    if result.returncode:
        raise RuntimeError(f'importing {script} failed:\n{result.stderr}')
    return frozenset(json.loads(result.stdout))


def closure(script: str, cmd: str = '') -> set[str]:
    """The library files (relative to the project root) that running ``script`` with command line ``cmd``
    imports, with their package data."""
    deferred = on_demand(script, cmd)
    modules = set(_imported(script, deferred))
    entries = chosen(modules, cmd)
    if entries:
        modules = set(_imported(script, deferred + entries))
    return modules | {DATA_FILES[module] for module in modules & set(DATA_FILES)}


def hashed_files(folder: str) -> set[str]:
    """The files under ``folder`` (relative to the project root) that a folder dep on it hashes."""
    found = set()
    for directory, subdirectories, files in os.walk(PROJECT / folder):
        subdirectories[:] = [name for name in subdirectories if name not in _UNHASHED_DIRS]
        found.update(os.path.relpath(os.path.join(directory, name), PROJECT) for name in files
                     if not name.endswith(_UNHASHED_SUFFIXES))
    return found


def as_deps(files: set[str]) -> list[str]:
    """``files`` as a sorted deps list: each largest folder whose hashed files are all in ``files`` replaces
    them."""
    folders = {str(parent) for name in files for parent in Path(name).parents if str(parent) != '.'}
    whole = {folder for folder in folders if hashed_files(folder) <= files}
    outermost = {folder for folder in whole if not any(folder.startswith(other + '/') for other in whole)}
    rest = {name for name in files if not any(name.startswith(folder + '/') for folder in outermost)}
    return sorted(outermost | rest)


def covers(dep: str, name: str) -> bool:
    """Whether the dep ``dep`` (a file or a folder) covers the file ``name``."""
    return name == dep or name.startswith(dep.rstrip('/') + '/')
