"""One decoded form of a PTX opcode, shared by the interpreter and the JIT.

An opcode such as `setp.ltu.and.ftz.f32` or `ld.global.nc.v4.u32` is split once into its
base operation and typed fields; both engines read the fields instead of the dotted string.
Forms depend on the opcode text alone, so one cache keyed by that text serves every
instruction (the decode costs a dict look-up after the first instruction of each kind).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import PtxError
from .ptxast import Instr
from .ptxtypes import TYPES

HALF_TYPES = ("f16", "bf16", "f16x2", "bf16x2")
FLOAT_ROUNDING = ("rn", "rz", "rm", "rp")
INT_ROUNDING = ("rni", "rzi", "rmi", "rpi")
BOOL_OPS = ("and", "or", "xor")
SPACES = ("global", "shared", "local", "const", "param")
VECTORS = ("v2", "v4", "v8")
CACHE_OPS = ("ca", "cg", "cs", "lu", "cv", "wb", "wt", "nc")
SEMANTICS = ("relaxed", "acquire", "release", "acq_rel", "sc", "weak")
SCOPES = ("cta", "cluster", "gpu", "sys")

# The modifier naming the operation variant, per base: the first one of these found.
_MODES: dict[str, tuple[str, ...]] = {
    "prmt": ("f4e", "b4e", "rc8", "ecl", "ecr", "rc16"),
    "shfl": ("up", "down", "bfly", "idx"),
    "vote": ("all", "any", "uni", "ballot"),
    "match": ("any", "all"),
    "redux": ("add", "min", "max", "and", "or", "xor"),
    "atom": ("add", "min", "max", "and", "or", "xor", "exch", "cas", "inc", "dec"),
    "bar": ("popc", "and", "or"),
}
_MODES["red"] = _MODES["atom"]
_MODES["barrier"] = _MODES["bar"]

# Instructions that only order, hint or tune: both engines run them as no-ops.
NO_OPS = frozenset({"membar", "fence", "prefetch", "prefetchu", "nanosleep", "pmevent",
                    "griddepcontrol", "discard", "applypriority", "createpolicy"})

# a modifier: a name, then ::-qualified parts (`shared::cta`, `L2::64B`)
_PART = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*|[123]d)(?:::[A-Za-z0-9_]+)*\Z")   # `1d`: tex geometry
_ROUNDING = FLOAT_ROUNDING + INT_ROUNDING
# What a setp/set comparison is not; testp's class is whatever is not a type.
_NOT_CMP = TYPES | frozenset(HALF_TYPES) | frozenset(BOOL_OPS) | {"ftz"}


@dataclass(frozen=True, slots=True)
class Form:
    opcode: str
    base: str
    mods: tuple[str, ...]            # every modifier after the base, in order
    types: tuple[str, ...]           # the fundamental types among them, in order
    half: str | None                 # the first of f16 bf16 f16x2 bf16x2
    rounding: str                    # rn rz rm rp rni rzi rmi rpi, or "" when none is named
    ftz: bool
    sat: bool
    approx: bool
    full: bool
    cmp: str | None                  # setp/set: the comparison; testp: the class tested
    boolop: str | None               # setp/set: and/or/xor with a third predicate
    mode: str | None                 # the variant: prmt/shfl/vote/match mode, atom/redux/bar.red op
    space: str                       # ld/st/atom/red: global shared local param, or generic
    space_mod: str | None            # the plain state-space modifier as written (cvta, isspacep)
    vec: int                         # elements of a .v2/.v4/.v8 access; 1 when scalar
    volatile: bool
    cache: str | None                # cache operator (.ca .cg .cs .lu .cv .wb .wt .nc)
    sem: str | None                  # memory-order semantics
    scope: str | None                # memory scope
    flags: frozenset[str]            # every modifier, for the single-purpose ones (wide, hi, cc)

    def has(self, mod: str) -> bool:
        return mod in self.flags

    @property
    def float_rounding(self) -> str:
        """The IEEE rounding of a float operation: the one named, round-to-nearest otherwise."""
        return self.rounding if self.rounding in FLOAT_ROUNDING else "rn"

    @property
    def noop(self) -> bool:
        return self.base in NO_OPS


_FORMS: dict[str, Form] = {}


def form_of(ins: Instr) -> Form:
    """The decoded form of an instruction; PtxError (with its line) when malformed."""
    form = _FORMS.get(ins.opcode)
    if form is None:
        try:
            form = decode(ins.opcode)
        except ValueError as exc:
            raise PtxError(str(exc), ins.line) from None
        _FORMS[ins.opcode] = form
    return form


def _only(mods: tuple[str, ...], names: tuple[str, ...], what: str, opcode: str) -> str | None:
    """The one modifier of a family (two of one family are malformed), or None."""
    found = [m for m in mods if m in names]
    if len(found) > 1:
        raise ValueError(f"{opcode}: more than one {what}")
    return found[0] if found else None


def _is_space(mod: str) -> bool:
    return mod in SPACES or mod.startswith(("shared::", "param::"))


def state_space(mods: tuple[str, ...] | list[str]) -> str:
    """The state space an ld/st/atom names (`const` reads device memory like `global`,
    `shared::cta` is `shared`, `param::entry` is `param`), or generic."""
    name = next((m for m in mods if _is_space(m)), "generic").split("::")[0]
    return "global" if name == "const" else name


def vector_count(mods: tuple[str, ...] | list[str]) -> int:
    """Elements of a .v2/.v4/.v8 access (1 for a scalar one)."""
    return next((int(m[1:]) for m in mods if m in VECTORS), 1)


def _condition(base: str, mods: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(comparison or tested class, bool op) of setp/set/testp; (None, None) elsewhere."""
    if base in ("setp", "set"):
        cmp = next((m for m in mods if m not in _NOT_CMP), None)
        return cmp, next((m for m in mods if m in BOOL_OPS), None)
    if base == "testp":
        return next((m for m in mods if m not in TYPES), None), None
    return None, None


def decode(opcode: str) -> Form:
    """Decode a dotted opcode; ValueError when it is malformed."""
    parts = opcode.split(".")
    if not all(_PART.match(p) for p in parts):
        raise ValueError(f"malformed opcode {opcode!r}")
    base, mods = parts[0], tuple(parts[1:])
    _only(mods, VECTORS, "vector count", opcode)
    if sum(map(_is_space, mods)) > 1:
        raise ValueError(f"{opcode}: more than one state space")
    cmp, boolop = _condition(base, mods)
    return Form(
        opcode=opcode, base=base, mods=mods,
        types=tuple(m for m in mods if m in TYPES),
        half=next((m for m in mods if m in HALF_TYPES), None),
        rounding=_only(mods, _ROUNDING, "rounding modifier", opcode) or "",
        ftz="ftz" in mods, sat="sat" in mods, approx="approx" in mods, full="full" in mods,
        cmp=cmp, boolop=boolop,
        mode=next((m for m in mods if m in _MODES.get(base, ())), None),
        space=state_space(mods),
        space_mod=next((m for m in mods if m in SPACES), None),
        vec=vector_count(mods),
        volatile="volatile" in mods,
        cache=_only(mods, CACHE_OPS, "cache operator", opcode),
        sem=_only(mods, SEMANTICS, "memory ordering", opcode),
        scope=next((m for m in mods if m in SCOPES), None),
        flags=frozenset(mods),
    )


__all__ = ["Form", "form_of", "decode", "state_space", "vector_count", "NO_OPS", "HALF_TYPES",
           "FLOAT_ROUNDING", "INT_ROUNDING", "BOOL_OPS", "SPACES"]
