"""Address-space bookkeeping: exact and interior lookups."""
from gdev_shim.gdev.vas import DeviceMem, Vas


def test_find_returns_the_allocation_holding_an_interior_address():
    vas = Vas()
    a, b = DeviceMem(0x1000, 0x100, 1, 1), DeviceMem(0x3000, 0x10, 2, 1)
    vas.add(b)
    vas.add(a)
    assert vas.find(0x1000) is a
    assert vas.find(0x10FF) is a
    assert vas.find(0x1100) is None            # one past the end
    assert vas.find(0x0FFF) is None
    assert vas.find(0x3008) is b
    assert vas.get(0x3008) is None             # get wants the start
    assert vas.remove(0x1000) is a
    assert vas.find(0x1010) is None and len(vas) == 1
    assert vas.remove(0x1000) is None
