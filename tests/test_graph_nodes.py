"""Graphs built node by node: instantiation orders the nodes after their dependencies
(else in the order they were added) and refuses cycles and unknown nodes."""
from __future__ import annotations

import pytest

from gdev_shim.runtime import graphs
from gdev_shim.runtime.errors import RT, SdaaError


def _steps(ran: list[str], *names: str):
    return {n: (lambda stream, n=n: ran.append(f"{n}@{stream}")) for n in names}


def test_nodes_run_after_their_dependencies_whatever_order_they_were_added_in():
    ran: list[str] = []
    step = _steps(ran, "d", "a", "b", "c")
    g = graphs.create()
    d = graphs.add_node(g, [], step["d"])
    a = graphs.add_node(g, [], step["a"])
    b = graphs.add_node(g, [a], step["b"])
    c = graphs.add_node(g, [a], step["c"])
    graphs.add_dependencies(g, [(b, d), (c, d)])            # d joins b and c
    assert graphs.nodes(g) == [d, a, b, c]
    exe = graphs.instantiate(g)
    graphs.add_dependencies(g, [(d, a)])                    # the executable copy keeps its order
    graphs.launch(exe, 7)
    assert ran == ["a@7", "b@7", "c@7", "d@7"]
    with pytest.raises(SdaaError, match="cycle") as err:
        graphs.instantiate(g)
    assert err.value.code == RT.sdaaErrorInvalidValue
    graphs.exec_destroy(exe)
    graphs.destroy(g)


def test_bad_dependencies_are_refused():
    g, other = graphs.create(), graphs.create()
    a = graphs.add_node(g, [], lambda stream: None)
    foreign = graphs.add_node(other, [], lambda stream: None)
    for deps in ([foreign], [a, a], [12345]):
        with pytest.raises(SdaaError):
            graphs.add_node(g, deps, lambda stream: None)
    b = graphs.add_node(g, [a], lambda stream: None)
    for edge in ((a, b), (b, b), (a, foreign)):             # exists, a loop, another graph's
        with pytest.raises(SdaaError):
            graphs.add_dependencies(g, [edge])
    assert len(graphs.nodes(g)) == 2
