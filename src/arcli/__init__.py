"""arcli: accounts receivable from the shell.

The package is a core library (everything except :mod:`arcli.cli`) that never touches the
terminal, plus a thin click front end in :mod:`arcli.cli`.
"""

__version__ = "0.1.0"
