"""The card daemon: listens on the user's socket, serves each connection on its own thread,
and leaves when it has had no client for its idle period.

Starting and leaving are serialised with the clients that start it by an flock on
`cardd.lock` (one for the directory): a client that finds no daemon takes the lock,
checks again and only then starts one; a daemon that goes idle takes the same lock before
it removes its socket, so it never removes the socket of its successor.  Leaving, it also
removes its log (`cardd-<key>.log`) unless something worth reading was logged.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from .. import log
from ..card import Card
from ..common import cardwire as wire
from ..settings import settings
from .session import Session

_log = log.get("gdev.cardd")
MAX_CLIENTS = 1024            # connections served at once; more are closed at accept


class CardDaemon:
    def __init__(self, path: Path, idle_s: float, owner_uid: int | None = None) -> None:
        self.path = path
        self.lock_path = wire.start_lock(path)
        self.idle_s = idle_s
        self.owner_uid = os.getuid() if owner_uid is None else owner_uid
        self._cards: dict[int, Card] = {}
        self._sessions: set[Session] = set()
        self._lock = threading.Lock()
        self._own_log_level = log.root.getEffectiveLevel()
        self._connections = 0
        self._last_seen = time.monotonic()
        self.started = time.time()

    # ---- cards and clients ----
    def card_count(self) -> int:
        return settings.sim_cards

    def card(self, minor: int) -> Card:
        with self._lock:
            found = self._cards.get(minor)
            if found is None:
                found = self._cards[minor] = Card(minor)
            return found

    def adopt(self, session: Session) -> None:
        with self._lock:
            self._sessions.add(session)
            self._follow_log_levels()

    def forget(self, session: Session) -> None:
        with self._lock:
            self._sessions.discard(session)
            self._follow_log_levels()

    def _follow_log_levels(self) -> None:
        """Log as finely as the most curious client asks (each gets only its own level's lines,
        logs.py); with no such client, at the daemon's own level, so hot paths stay quiet."""
        levels = [s.log_level for s in self._sessions if s.log_level is not None]
        log.root.setLevel(min([self._own_log_level, *levels]))

    def status_json(self) -> bytes:
        from ..common.contract import ffi
        with self._lock:
            cards = sorted(self._cards.items())
            sessions = list(self._sessions)
        at = time.monotonic_ns()
        clients = [s.describe(at) for s in sessions]
        result: list[dict[str, Any]] = []
        for minor in range(self.card_count()):
            card = dict(cards).get(minor)
            entry: dict[str, Any] = {"index": minor, "clients": [c for c in clients if c["card"] == minor]}
            if card is not None:
                info = ffi.new("struct aidev_device_info *")
                card.fill_info(info)
                swap = card.buffers.residency
                entry.update(vram_total=info.vram_size, vram_used=info.vram_used,
                             vram_swapped=swap.swapped(), swap=dataclasses.asdict(swap.stats),
                             channels=info.channels_in_use, max_channels=info.max_channels,
                             sched=card.sched.settings(), **card.activity.snapshot(at))
            result.append(entry)
        return json.dumps({"pid": os.getpid(), "started": self.started, "sched": settings.sched,
                           "cards": result}).encode()

    # ---- serving ----
    def serve(self, ready_fd: int | None = None) -> None:
        listener = self._listen()
        if ready_fd is not None:
            os.write(ready_fd, b"1")
            os.close(ready_fd)
        _log.info("serving %d simulated cards on %s", self.card_count(), self.path)
        try:
            while not self._should_leave(listener):
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    continue
                self._start_session(conn)
        finally:
            listener.close()

    def _listen(self) -> socket.socket:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.path.unlink()                   # a dead daemon's socket (its starter holds the lock)
        except FileNotFoundError:
            pass
        self.lock_path.touch()                   # a daemon started by hand has no starter to make it
        listener.bind(str(self.path))
        os.chmod(self.path, 0o600)
        self._inode = self.path.stat().st_ino
        listener.listen(128)
        listener.settimeout(self._tick())
        return listener

    def _tick(self) -> float:
        """How often the accept loop looks at the idle clock."""
        return min(max(self.idle_s / 4, 0.05), 1.0)

    def _start_session(self, conn: socket.socket) -> None:
        with self._lock:
            full = self._connections >= MAX_CLIENTS
            if not full:
                self._connections += 1
        if full:
            _log.warning("refused a connection: %d clients already connected", MAX_CLIENTS)
            conn.close()
            return
        conn.settimeout(None)
        threading.Thread(target=self._run_session, args=(Session(self, conn),), daemon=True,
                         name="cardd-client").start()

    def _run_session(self, session: Session) -> None:
        try:
            session.run()
        finally:
            with self._lock:
                self._connections -= 1
                self._last_seen = time.monotonic()

    def _should_leave(self, listener: socket.socket) -> bool:
        with self._lock:
            idle = self._connections == 0 and time.monotonic() - self._last_seen >= self.idle_s
        if not idle:
            return False
        try:
            lock = open(self.lock_path, "rb")     # not "a": a directory removed under us stays so
        except FileNotFoundError:
            return True
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            listener.setblocking(False)
            try:                                  # a client that connected meanwhile is served
                conn, _ = listener.accept()
            except (BlockingIOError, socket.timeout):
                self._remove_socket()
                self._remove_clean_log()
                return True
            finally:
                listener.settimeout(self._tick())
        self._start_session(conn)
        return False

    def shutdown(self) -> None:
        """Stop serving (a signal): the socket goes, clients see the device lost."""
        try:
            lock = open(self.lock_path, "rb")
        except FileNotFoundError:               # the directory was removed: nothing left to remove
            return
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._remove_socket()
            self._remove_clean_log()

    def _remove_socket(self) -> None:
        try:
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass
        _log.info("leaving; socket %s removed", self.path)

    def _remove_clean_log(self) -> None:
        """The log of a daemon that saw no warning or error goes with it (a key changes with
        every change of the code, so kept logs would pile up); called under the start lock,
        before a successor opens the file."""
        path = wire.daemon_log(self.path)
        try:
            text = path.read_text(errors="replace")
            if not any(mark in text for mark in ("[WARNING]", "[ERROR]", "[CRITICAL]", "Traceback")):
                path.unlink()
        except OSError:
            pass
