"""PTX tokenizer: a flat token list with line numbers."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import PtxError

_TOKEN = re.compile(r"""
    (?P<nl>\n)
  | (?P<ws>[ \t\r\f\v]+)
  | (?P<lc>//[^\n]*)
  | (?P<bc>/\*.*?\*/)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<hexf>0[fF][0-9a-fA-F]{8}(?![\w$])|0[dD][0-9a-fA-F]{16}(?![\w$]))
  | (?P<num>0[xX][0-9a-fA-F]+U?|0[bB][01]+U?|\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+U?)(?![\w$])
  | (?P<id>[%$A-Za-z_][\w$]*)
  | (?P<dir>\.[A-Za-z_][\w$]*|\.[123]d(?![\w$]))      # .1d .2d .3d: texture geometries
  | (?P<punct>[{}\[\](),;:+\-|!@=<>*/])
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str       # 'id' 'dir' 'num' 'hexf' 'str' 'punct' 'eof'
    text: str
    line: int


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos, line, end = 0, 1, len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            raise PtxError(f"unexpected character {text[pos]!r}", line)
        kind = m.lastgroup
        tok = m.group()
        if kind == "nl":
            line += 1
        elif kind == "bc":
            line += tok.count("\n")
        elif kind not in ("ws", "lc"):
            out.append(Token(kind, tok, line))  # type: ignore[arg-type]
        pos = m.end()
    out.append(Token("eof", "", line))
    return out
