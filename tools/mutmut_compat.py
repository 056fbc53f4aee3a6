"""A pytest plugin for ``make mutate``: mutmut 3.7 reads ``item._nodeid``, which pytest 9 dropped.

mutmut 3.8 reads ``item.nodeid`` instead but requires click>=8.4.2, which
faust-streaming (click<8.4) refuses; remove this plugin (and its ``-p`` in
pyproject.toml) once a mutmut that fits beside faust reads ``nodeid``.
"""

from __future__ import annotations

from _pytest.nodes import Node

if not hasattr(Node, "_nodeid"):
    Node._nodeid = property(lambda self: self.nodeid)  # type: ignore[attr-defined]
