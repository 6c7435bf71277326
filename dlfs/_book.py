"""The decorator that lets a class grow over a chapter's cells.

Generated from chapters/04-losses.md by tools/export.py: do not edit; edit the chapter, then run `make export`.
"""

__all__ = ['add_to_class']

# %% chapters/04-losses.md cell 10
# dlfs._book: the decorator that lets a class grow over a chapter's cells.
def add_to_class(cls):
    """Decorator: add the function below to ``cls`` as a method, so a class
    grows cell by cell."""
    def register(function):
        name = (function.fget.__name__ if isinstance(function, property)
                else function.__name__)
        setattr(cls, name, function)
        return function
    return register
