"""Named objects, each declared in its own module and imported only when its name is asked for.

A stage that serves several grids takes one name (``--table paper``): with a ``Registry`` it imports that
grid's module alone, so its import closure, and with it its DVC deps (bnonly.stage_deps, which reads the
module behind each name from here), holds no other grid's code.
"""
import importlib
from collections.abc import Iterator, Mapping


class Registry(Mapping):
    """name -> the attribute ``attribute`` of the module ``modules[name]``, imported on first use.

    Listing the names (``sorted(registry)``, ``name in registry``) imports nothing; ``registry[name]`` imports
    that name's module only, and ``values()`` every module."""

    def __init__(self, attribute: str, modules: dict[str, str]):
        self.attribute = attribute
        self.modules = dict(modules)  # name -> the module that declares it

    def __getitem__(self, name: str):
        return getattr(importlib.import_module(self.modules[name]), self.attribute)

    def __contains__(self, name) -> bool:
        return name in self.modules  # Mapping's default would import the module

    def __iter__(self) -> Iterator[str]:
        return iter(self.modules)

    def __len__(self) -> int:
        return len(self.modules)

    def __repr__(self) -> str:
        return f'Registry({self.attribute!r}, {self.modules!r})'
