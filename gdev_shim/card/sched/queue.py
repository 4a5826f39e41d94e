"""One engine's queue of requests: which virtual GPU has the engine, who waits, the
periods' replenishment and bandwidth measurement, and the policy's decisions.

Deterministic: every call takes the time it happens at, so tests replay events
without threads or clocks.  Not thread-safe (arbiter.py puts it behind a lock).
"""
from __future__ import annotations

from dataclasses import dataclass

from .account import ACTIVE_NS, UPDATE_INTERVAL_NS, Account, VirtualGpu
from .policy import Hold, Policy, bandwidth

# Periods applied at most when catching up after a quiet spell: an account's credit and
# used bandwidth no longer depend on older ones (both reset within a second).
MAX_CATCH_UP = 64


@dataclass(eq=False, slots=True)
class Ticket:
    """One request for the engine (a kernel, a copy) of one virtual GPU."""
    account: Account
    seq: int                      # arrival order on this engine
    arrived_ns: int
    granted_ns: int | None = None


class EngineQueue:
    def __init__(self, policy: Policy, now: int) -> None:
        self.policy = policy
        self.epoch = now
        self.accounts: list[Account] = []        # in the policy's order
        self._by_vgpu: dict[VirtualGpu, Account] = {}
        self.running: Ticket | None = None
        self.previous: Account | None = None     # the account whose request ran last
        self.hold_until: int | None = None
        self._hold_seq = 0                       # requests from this seq on arrived during the hold
        self._after_completion = False
        self._seq = 0
        self._advanced = -1                      # the period every account has been brought up to
        # the hot path (a request's arrival, grant and completion) looks at these two, not at
        # the periods or the accounts, unless a period boundary passed or someone waits
        self._boundary_ns = now                  # advance() has work to do from this time on
        self._waiting = 0                        # requests waiting, all accounts together

    # ---- virtual GPUs ----
    def attach(self, vgpu: VirtualGpu, now: int) -> Account:
        if vgpu in self._by_vgpu:
            raise ValueError(f"virtual GPU {vgpu.id} is attached already")
        self.advance(now)
        account = Account(vgpu, tick=self._tick(now), window_start_ns=now, last_active_ns=now - ACTIVE_NS)
        self.accounts.append(account)
        self._by_vgpu[vgpu] = account
        # a new virtual GPU starts with one period's credit (gdev_init_scheduler)
        self.policy.replenish(account, bandwidth(account, self.accounts, now))
        return account

    def detach(self, vgpu: VirtualGpu) -> None:
        account = self._by_vgpu.get(vgpu)
        if account is None:
            return
        if account.waiting or account.running:
            raise ValueError(f"virtual GPU {vgpu.id} still has requests on the engine")
        del self._by_vgpu[vgpu]
        self.accounts.remove(account)
        if self.previous is account:
            self.previous = None

    def account(self, vgpu: VirtualGpu) -> Account:
        account = self._by_vgpu.get(vgpu)
        if account is None:
            raise ValueError(f"virtual GPU {vgpu.id} is not attached to this engine")
        return account

    # ---- requests ----
    def arrive(self, vgpu: VirtualGpu, now: int) -> Ticket:
        account = self._by_vgpu.get(vgpu) or self.account(vgpu)
        if now >= self._boundary_ns:
            self.advance(now)
        ticket = Ticket(account, self._seq, now)
        self._seq += 1
        if not account.waiting and not account.running and account.last_done_ns is not None:
            gap = now - account.last_done_ns
            if gap < self.policy.period_ns:     # a closed loop's turnaround, not an idle spell
                account.turnaround_ns = gap if not account.turnaround_ns else (3 * account.turnaround_ns + gap) // 4
        account.waiting.append(ticket)
        self._waiting += 1
        account.last_active_ns = now
        return ticket

    def withdraw(self, ticket: Ticket) -> None:
        """A waiting request that no longer wants the engine (its channel stopped)."""
        if ticket.granted_ns is None and ticket in ticket.account.waiting:
            ticket.account.waiting.remove(ticket)
            self._waiting -= 1

    def dispatch(self, now: int) -> Ticket | None:
        """Give the free engine to the request the policy chooses; None while it stays
        busy or idle (nobody waits, or a hold that nobody new has claimed)."""
        if self.running is not None:
            return None
        if now >= self._boundary_ns:
            self.advance(now)
        if self.hold_until is not None:
            if now < self.hold_until:
                newcomers = [t for a in self.accounts for t in a.waiting if t.seq >= self._hold_seq]
                return self._grant(min(newcomers, key=lambda t: t.seq), now) if newcomers else None
            self.hold_until = None
        if not self._waiting:                   # every policy chooses nobody then
            self._after_completion = False
            return None
        decision = self.policy.choose(self.accounts, self.previous, now, self._after_completion)
        self._after_completion = False          # one yield chance per completion
        if decision is None:
            return None
        if isinstance(decision, Hold):
            self.hold_until, self._hold_seq = decision.until_ns, self._seq
            return None
        return self._grant(decision, now)

    def _grant(self, ticket: Ticket, now: int) -> Ticket:
        ticket.account.waiting.remove(ticket)
        self._waiting -= 1
        ticket.granted_ns = now
        ticket.account.running += 1
        self.running = ticket
        self.hold_until = None
        return ticket

    def complete(self, ticket: Ticket, now: int) -> int:
        """The granted request finished; returns its engine time."""
        if ticket is not self.running or ticket.granted_ns is None:
            raise ValueError("only the running request can complete")
        if now >= self._boundary_ns:             # periods that passed while it ran come first
            self.advance(now)
        exec_ns = max(0, now - ticket.granted_ns)
        account = ticket.account
        account.running -= 1
        account.total_ns += exec_ns
        account.window_used_ns += exec_ns
        account.runs += 1
        account.last_active_ns = account.last_done_ns = now
        self.running = None
        self.previous = account
        self._after_completion = True
        if self._by_vgpu.get(account.vgpu) is account:       # still attached
            self.policy.charged(account, self.accounts, exec_ns, now)
        return exec_ns

    def hold_left(self, now: int) -> int | None:
        return None if self.hold_until is None else max(0, self.hold_until - now)

    # ---- periods ----
    def _tick(self, now: int) -> int:
        return (now - self.epoch) // self.policy.period_ns

    def advance(self, now: int) -> None:
        """Apply every period boundary up to `now`: replenish credit (every account, then the
        threshold over them all: policy.settle) and measure the used bandwidth (the share
        of the window so far; the window restarts each second)."""
        tick = self._tick(now)
        if tick <= self._advanced:               # no period boundary since the last call
            return
        policy = self.policy
        oldest = min((a.tick for a in self.accounts), default=tick)
        for k in range(max(oldest + 1, tick - MAX_CATCH_UP + 1), tick + 1):
            at = self.epoch + k * policy.period_ns
            for account in self.accounts:
                if account.tick >= k:
                    continue
                policy.replenish(account, bandwidth(account, self.accounts, at))
                span = at - account.window_start_ns
                if span > 0:
                    account.bw_used = min(1.0, account.window_used_ns / span)
                if span >= UPDATE_INTERVAL_NS:
                    account.window_used_ns, account.window_start_ns = 0, at
            policy.settle(self.accounts, at)
        for account in self.accounts:
            account.tick = max(account.tick, tick)
        self._advanced = tick
        self._boundary_ns = self.epoch + (tick + 1) * policy.period_ns

    # ---- what gdev-smi shows ----
    def describe(self, vgpu: VirtualGpu, now: int) -> dict[str, float | int]:
        account = self.account(vgpu)
        running = now - self.running.granted_ns if (self.running is not None and self.running.account is account
                                                    and self.running.granted_ns is not None) else 0
        return {"busy_ns": account.total_ns + running, "runs": account.runs,
                "bandwidth": round(bandwidth(account, self.accounts, now), 4),
                "bw_used": round(account.bw_used, 4), "credit_us": account.credit_ns // 1000,
                "waiting": len(account.waiting), "turnaround_us": account.turnaround_ns // 1000}
