"""Public names of a package that load on first use (PEP 562): a package's ``__init__`` imports nothing, so
importing one submodule (or ``bnonly`` itself) loads only what that submodule needs, and a stage's import
closure, and with it its DVC deps, holds only the modules it runs.

    export_lazily(__name__, {'census': 'bnonly.census', ...})   # at the end of a package's __init__.py
"""
import importlib
import sys
import types


def export_lazily(package: str, names: dict[str, str]) -> None:
    """Give the package ``package`` (its ``__name__``) the public ``names`` (name -> the submodule that
    defines it), each imported on first use.

    A name that is also the name of the submodule defining it (``bnonly.census`` the function and the module,
    ``bnonly.data.prepare``) stays the name: Python's import sets the package attribute to the submodule when
    the submodule is first imported, which would hide the function, so such an assignment is ignored.
    """
    module = sys.modules[package]

    def __getattr__(name: str):
        source = names.get(name)
        if source is None:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(source), name)
        vars(module)[name] = value  # so this runs once per name
        return value

    def __dir__():
        return sorted(set(vars(module)) | set(names))

    module.__getattr__, module.__dir__, module.__all__ = __getattr__, __dir__, sorted(names)
    shadowed = frozenset(name for name, source in names.items() if source.rpartition('.')[2] == name)
    if shadowed:
        module.__class__ = type('Package', (types.ModuleType,), {'__setattr__': _keeping(shadowed)})


def _keeping(shadowed: frozenset[str]):
    def __setattr__(self, name, value):
        if name in shadowed and isinstance(value, types.ModuleType):
            return
        types.ModuleType.__setattr__(self, name, value)
    return __setattr__
