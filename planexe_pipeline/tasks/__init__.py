"""The plan's Luigi tasks: one module per group of stages, and the shapes they share.

Importing the package imports every module in it, so every task is registered (`PLAN_TASKS`
in tasks/base.py) whichever one a caller imports first: the report's sections and the graph
walk cannot miss a module that nobody listed.
"""

from importlib import import_module
from pkgutil import iter_modules

for _module in iter_modules(__path__):
    import_module(f"{__name__}.{_module.name}")
