"""The text of a clause (``五(三)``, ``第七条(二)``, ``三(二)2``) in a policy document's full text.

Documents number their parts in the national way: top-level parts ``一、`` … or articles ``第一条``
…, sub-parts ``（一）`` …, items ``1.`` …. The texts come as published (line breaks in the middle of
sentences, half-width or full-width brackets, headings marked with ``#`` or ``**``), so both the
clause and the text are normalised first. A clause that cannot be found gives ``None``: the page
then shows the clause alone, never a guess.
"""
from __future__ import annotations

import re

NUMERALS = "〇一二三四五六七八九十百"
MAX_CHARS = 600

_CLAUSE_RE = re.compile(
    rf"^\s*(?:第(?P<article>[{NUMERALS}]+)条|(?P<part>[{NUMERALS}]+))?"
    rf"(?:（(?P<sub>[{NUMERALS}]+)）)?(?P<item>\d+)?\s*$"
)


def _normalise(text: str) -> str:
    text = text.replace("(", "（").replace(")", "）").replace("\u3000", " ")
    text = re.sub(r"\*+", "", text)
    text = re.sub(r"(?m)^[ \t]*#+[ \t]*", "", text)
    return text


def _slice(text: str, start_re: str, next_re: str) -> str | None:
    m = re.search(start_re, text, re.M)
    if m is None:
        return None
    rest = text[m.start():]
    nxt = re.compile(next_re, re.M).search(rest, len(m.group(0)))
    return rest[: nxt.start()] if nxt else rest


def clause_text(text: str | None, clause: str | None) -> str | None:
    """The passage of ``text`` that ``clause`` names, whitespace collapsed, at most MAX_CHARS."""
    if not text or not clause:
        return None
    m = _CLAUSE_RE.match(_normalise(clause))
    if m is None or not any(m.group(k) for k in ("article", "part", "sub")):
        return None
    body = _normalise(text)
    if m["article"]:
        body = _slice(body, rf"^\s*第{m['article']}条", rf"^\s*第[{NUMERALS}]+[条章]")
    elif m["part"]:
        body = _slice(body, rf"^\s*{m['part']}、", rf"^\s*[{NUMERALS}]+、")
    if body is None:
        return None
    if m["sub"]:
        body = _slice(body, rf"^\s*（{m['sub']}）", rf"^\s*（[{NUMERALS}]+）|^\s*[{NUMERALS}]+、|^\s*第[{NUMERALS}]+[条章]")
        if body is None:
            return None
    if m["item"]:
        found = _slice(body, rf"^\s*{m['item']}\s*[.．、]", r"^\s*\d+\s*[.．、]|^\s*（[" + NUMERALS + r"]+）")
        body = found if found is not None else body
    passage = re.sub(r"\s+", " ", body).strip()
    passage = re.sub(r"(?<=[\u4e00-\u9fff，。；：、（）])\s(?=[\u4e00-\u9fff，。；：、（）])", "", passage)
    if len(passage) > MAX_CHARS:
        passage = passage[:MAX_CHARS].rstrip() + "…"
    return passage or None
