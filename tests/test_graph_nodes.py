"""Graphs built node by node: instantiation orders the nodes after their dependencies
(else in the order they were added) and refuses cycles and unknown nodes; kernel nodes'
parameters are read and replaced in a graph and in an executable graph, and an
executable graph takes the steps of a graph of its shape only."""
from __future__ import annotations

import pytest

from types import SimpleNamespace

from gdev_shim.runtime import graphs
from gdev_shim.runtime.errors import RT, SdaaError


def _steps(ran: list[str], *names: str):
    return {n: (lambda stream, n=n: ran.append(f"{n}@{stream}")) for n in names}


def test_nodes_run_after_their_dependencies_whatever_order_they_were_added_in():
    ran: list[str] = []
    step = _steps(ran, "d", "a", "b", "c")
    g = graphs.create()
    d = graphs.add_node(g, [], step["d"], graphs.HOST)
    a = graphs.add_node(g, [], step["a"], graphs.HOST)
    b = graphs.add_node(g, [a], step["b"], graphs.HOST)
    c = graphs.add_node(g, [a], step["c"], graphs.HOST)
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
    a = graphs.add_node(g, [], lambda stream: None, graphs.EMPTY)
    foreign = graphs.add_node(other, [], lambda stream: None, graphs.EMPTY)
    for deps in ([foreign], [a, a], [12345]):
        with pytest.raises(SdaaError):
            graphs.add_node(g, deps, lambda stream: None, graphs.EMPTY)
    b = graphs.add_node(g, [a], lambda stream: None, graphs.EMPTY)
    for edge in ((a, b), (b, b), (a, foreign)):             # exists, a loop, another graph's
        with pytest.raises(SdaaError):
            graphs.add_dependencies(g, [edge])
    assert len(graphs.nodes(g)) == 2


CTX = object()                          # the context a kernel runs in


def _kernel(func: int, arg: int, ctx=CTX) -> graphs.Kernel:
    fn = SimpleNamespace(module=SimpleNamespace(ctx=ctx))
    return graphs.Kernel(func, fn, (1, 1, 1), (32, 1, 1), 0, arg.to_bytes(4, "little"))


def _kernel_then_host(ran: list[str], tag: str, arg: int) -> tuple[int, int, int]:
    """A graph of a kernel node and a host node after it; (graph, kernel node, host node)."""
    g = graphs.create()
    k = graphs.add_node(g, [], lambda stream: ran.append(f"{tag}-kernel"), graphs.KERNEL, _kernel(0x100, arg))
    h = graphs.add_node(g, [k], lambda stream: ran.append(f"{tag}-host"), graphs.HOST)
    return g, k, h


def test_kernel_node_parameters_are_read_and_replaced_in_the_graph_and_the_executable():
    ran: list[str] = []
    g, k, h = _kernel_then_host(ran, "first", 7)
    assert (graphs.node_type(k), graphs.node_type(h)) == (graphs.KERNEL, graphs.HOST)
    assert graphs.kernel_params(k).params == (7).to_bytes(4, "little")
    with pytest.raises(SdaaError, match="not a kernel node"):
        graphs.kernel_params(h)
    exe = graphs.instantiate(g)
    graphs.set_kernel(k, _kernel(0x100, 8), lambda stream: ran.append("graph-set"))
    graphs.launch(exe, 1)                                   # the executable is a copy
    graphs.exec_set_kernel(exe, k, _kernel(0x200, 9), lambda stream: ran.append("exec-set"))
    graphs.launch(exe, 1)
    assert ran == ["first-kernel", "first-host", "exec-set", "first-host"]
    assert graphs.kernel_params(k).params == (8).to_bytes(4, "little")
    with pytest.raises(SdaaError):
        graphs.exec_set_kernel(exe, h, _kernel(0x100, 1), lambda stream: None)
    with pytest.raises(SdaaError):
        graphs.exec_set_kernel(exe, 424242, _kernel(0x100, 1), lambda stream: None)
    graphs.exec_destroy(exe)
    graphs.destroy(g)
    with pytest.raises(SdaaError):
        graphs.node_type(k)


def test_an_executable_takes_the_steps_of_a_graph_of_its_shape_only():
    ran: list[str] = []
    g, _, _ = _kernel_then_host(ran, "first", 1)
    exe = graphs.instantiate(g)
    same, _, _ = _kernel_then_host(ran, "second", 2)
    assert graphs.exec_update(exe, same) == (graphs.UPDATE_SUCCESS, 0)
    graphs.launch(exe, 1)
    assert ran == ["second-kernel", "second-host"]

    retyped = graphs.create()
    a = graphs.add_node(retyped, [], lambda stream: ran.append("x"), graphs.KERNEL, _kernel(0x100, 3))
    b = graphs.add_node(retyped, [a], lambda stream: ran.append("x"), graphs.EMPTY)
    assert graphs.exec_update(exe, retyped) == (graphs.UPDATE_NODE_TYPE_CHANGED, b)
    unlinked = graphs.create()
    a = graphs.add_node(unlinked, [], lambda stream: ran.append("x"), graphs.KERNEL, _kernel(0x100, 3))
    b = graphs.add_node(unlinked, [], lambda stream: ran.append("x"), graphs.HOST)
    assert graphs.exec_update(exe, unlinked) == (graphs.UPDATE_TOPOLOGY_CHANGED, b)
    shorter = graphs.create()
    graphs.add_node(shorter, [], lambda stream: ran.append("x"), graphs.KERNEL, _kernel(0x100, 3))
    assert graphs.exec_update(exe, shorter) == (graphs.UPDATE_TOPOLOGY_CHANGED, 0)
    moved = graphs.create()
    a = graphs.add_node(moved, [], lambda stream: ran.append("x"), graphs.KERNEL, _kernel(0x100, 3, object()))
    graphs.add_node(moved, [a], lambda stream: ran.append("x"), graphs.HOST)
    assert graphs.exec_update(exe, moved) == (graphs.UPDATE_UNSUPPORTED_FUNCTION_CHANGE, a)

    ran.clear()
    graphs.launch(exe, 1)                                   # no failed update changed anything
    assert ran == ["second-kernel", "second-host"]
    graphs.exec_destroy(exe)


def test_edges_are_listed_removed_all_or_none_and_go_with_a_destroyed_node():
    step = _steps([], "a", "b", "c", "d")
    g = graphs.create()
    a = graphs.add_node(g, [], step["a"], graphs.EMPTY)
    b = graphs.add_node(g, [a], step["b"], graphs.EMPTY)
    c = graphs.add_node(g, [a], step["c"], graphs.EMPTY)
    d = graphs.add_node(g, [b, c], step["d"], graphs.EMPTY)
    assert graphs.edges(g) == [(a, b), (a, c), (b, d), (c, d)]
    assert graphs.roots(g) == [a]
    assert graphs.dependencies(d) == [b, c] and graphs.dependents(a) == [b, c]
    with pytest.raises(SdaaError):                          # (a, d) is not an edge: nothing removed
        graphs.remove_dependencies(g, [(c, d), (a, d)])
    assert len(graphs.edges(g)) == 4
    graphs.remove_dependencies(g, [(c, d)])
    assert graphs.dependencies(d) == [b]
    graphs.destroy_node(b)
    assert graphs.edges(g) == [(a, c)] and graphs.nodes(g) == [a, c, d]
    assert sorted(graphs.roots(g)) == sorted([a, d])
    with pytest.raises(SdaaError):
        graphs.destroy_node(b)
    with pytest.raises(SdaaError):
        graphs.dependents(b)


def test_a_clone_has_nodes_of_its_own_with_the_same_edges_and_steps():
    ran: list[str] = []
    step = _steps(ran, "a", "b")
    g = graphs.create()
    a = graphs.add_node(g, [], step["a"], graphs.HOST)
    b = graphs.add_node(g, [a], step["b"], graphs.HOST)
    copy = graphs.clone(g)
    ca, cb = graphs.find_in_clone(a, copy), graphs.find_in_clone(b, copy)
    assert {ca, cb}.isdisjoint({a, b})
    assert graphs.edges(copy) == [(ca, cb)]
    graphs.destroy_node(a)                                  # the original changes, the clone does not
    assert graphs.edges(copy) == [(ca, cb)]
    graphs.launch(graphs.instantiate(copy), 5)
    assert ran == ["a@5", "b@5"]
    with pytest.raises(SdaaError):
        graphs.find_in_clone(a, g)                          # g is no clone
    graphs.destroy_node(cb)
    with pytest.raises(SdaaError):
        graphs.find_in_clone(b, copy)                       # its copy was removed
