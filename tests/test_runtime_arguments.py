"""sdaaSetupArgument's placement of argument bytes (gdev_shim/runtime/launch.py): in order,
out of order, with gaps and overlaps, and its errors."""
from __future__ import annotations

import threading
from typing import Any, Callable

import pytest

from gdev_shim.runtime import launch
from gdev_shim.runtime.errors import RT, SdaaError


def _in_thread(body: Callable[[], Any]) -> Any:
    """Run `body` on a fresh thread (the configuration stack is per thread); its result."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = body()
        except BaseException as exc:     # re-raised on the test's thread
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(10.0)
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_arguments_in_order_are_appended() -> None:
    def body() -> bytes:
        launch.configure(1)
        launch.setup_argument(b"\x01" * 8, 0)
        launch.setup_argument(b"\x02" * 8, 8)
        launch.setup_argument(b"\x03" * 4, 16)
        return launch.pop_config("k").params(24)
    assert _in_thread(body) == b"\x01" * 8 + b"\x02" * 8 + b"\x03" * 4 + b"\0" * 4


def test_arguments_out_of_order_with_a_gap_and_an_overlap() -> None:
    def body() -> bytes:
        launch.configure(1)
        launch.setup_argument(b"\x05" * 4, 12)       # a gap before it reads as zeros
        launch.setup_argument(b"\x01" * 8, 0)
        launch.setup_argument(b"\x02\x02", 7)        # overlaps the first argument's last byte
        return launch.pop_config("k").params(16)
    assert _in_thread(body) == b"\x01" * 7 + b"\x02\x02" + b"\0" * 3 + b"\x05" * 4


def test_the_checked_configuration_is_the_innermost() -> None:
    def body() -> tuple[bytes, bytes]:
        launch.configure(1)
        launch.configure(2)
        config = launch.check_argument(4, 0)
        launch.setup_argument(b"\x07" * 4, 0, config)
        inner = launch.pop_config("k").params(4)
        return inner, launch.pop_config("k").params(4)
    assert _in_thread(body) == (b"\x07" * 4, b"\0" * 4)


def test_argument_errors() -> None:
    def missing() -> None:
        launch.setup_argument(b"\0" * 4, 0)
    with pytest.raises(SdaaError) as info:
        _in_thread(missing)
    assert info.value.code == RT.sdaaErrorMissingConfiguration

    def beyond() -> None:
        launch.configure(1)
        launch.setup_argument(b"\0" * 8, launch.MAX_ARG_BYTES - 4)
    with pytest.raises(SdaaError) as info:
        _in_thread(beyond)
    assert info.value.code == RT.sdaaErrorInvalidValue
