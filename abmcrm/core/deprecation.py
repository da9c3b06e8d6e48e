"""Old import paths kept working while host projects move to the new ones."""

import importlib
import warnings


def moved(old_module, names):
    """A module `__getattr__` for `old_module` whose `names` ({name: "new.module"}) moved:
    each access warns (DeprecationWarning, naming the new path) and answers the new object.
    Settings such as `"tiers.pagination.PageNumberPagination"` keep working this way."""

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        new_module = names[name]
        warnings.warn(f"{old_module}.{name} moved to {new_module}.{name}; update the "
                      "reference (e.g. in your settings).", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(new_module), name)

    return __getattr__
