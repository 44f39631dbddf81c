"""Abbreviation detection after Schwartz & Hearst (2003).

A. S. Schwartz and M. A. Hearst, "A simple algorithm for identifying
abbreviation definitions in biomedical text", Pacific Symposium on
Biocomputing 8:451-462, 2003.

Candidates are ``long form (short form)`` pairs. The short form has at most
two words and ten characters, starts with a letter or digit and contains a
letter; the long form is searched among the ``min(|A| + 5, 2|A|)`` words
before the parenthesis by matching the short form's characters right to left,
the first short-form character having to start a word of the long form.

What claimtag adds on top: when either form of a pair is an entity, the other
form gets the same type and canonical name, the short form records its long
form in ``ent._.long_form``, and every later mention of the short form in the
same post is tagged too ("BoNT/A" defined once, then used bare).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from .segment import doc_text

_PAREN = re.compile(r"\(([^()]{1,12})\)")


class Abbreviation(NamedTuple):
    long_start: int
    long_end: int
    short_start: int
    short_end: int


def is_short_form_candidate(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= 2
        and 2 <= len(text) <= 10
        and text[0].isalnum()
        and any(c.isalpha() for c in text)
    )


def find_best_long_form(short: str, long: str) -> int | None:
    """Return the start offset in ``long`` of the best long form for ``short``.

    Implements the right-to-left character match of Schwartz & Hearst: each
    alphanumeric character of the short form must occur in the long form in
    order, and the first one must begin a word.
    """
    s_idx = len(short) - 1
    l_idx = len(long) - 1
    while s_idx >= 0:
        c = short[s_idx].lower()
        if not c.isalnum():
            s_idx -= 1
            continue
        while l_idx >= 0 and (
            long[l_idx].lower() != c
            or (s_idx == 0 and l_idx > 0 and long[l_idx - 1].isalnum())
        ):
            l_idx -= 1
        if l_idx < 0:
            return None
        l_idx -= 1
        s_idx -= 1
    start = long.rfind(" ", 0, l_idx + 1) + 1
    return start


def find_abbreviations(text: str) -> list[Abbreviation]:
    """All ``long form (SF)`` definitions in ``text`` as character offsets."""
    found = []
    for match in _PAREN.finditer(text):
        short = match.group(1).strip()
        if not is_short_form_candidate(short):
            continue
        short_start = match.start(1) + match.group(1).index(short)
        before = text[: match.start()].rstrip()
        max_words = min(len(short) + 5, len(short) * 2)
        word_starts = [m.start() for m in re.finditer(r"\S+", before)]
        if not word_starts:
            continue
        window_start = word_starts[-max_words] if len(word_starts) >= max_words else word_starts[0]
        window = before[window_start:]
        offset = find_best_long_form(short, window)
        if offset is None:
            continue
        long_start = window_start + offset
        long_text = text[long_start : len(before)]
        if len(long_text) <= len(short) or long_text.lower().startswith(short.lower()):
            continue
        found.append(Abbreviation(long_start, len(before), short_start, short_start + len(short)))
    return found


@Language.factory("claimtag_abbreviations")
def make_abbreviation_linker(nlp: Language, name: str) -> "AbbreviationLinker":
    return AbbreviationLinker()


class AbbreviationLinker:
    """spaCy component: spreads entity labels across abbreviation definitions."""

    def __call__(self, doc: Doc) -> Doc:
        text = doc_text(doc)
        if "(" not in text:
            return doc
        ents = list(doc.ents)
        by_char = {(e.start_char, e.end_char): e for e in ents}
        new_spans: list[Span] = []
        definitions: dict[str, tuple[str, str, str | None, str | None]] = {}
        for abbr in find_abbreviations(text):
            long_span = doc.char_span(abbr.long_start, abbr.long_end, alignment_mode="contract")
            short_span = doc.char_span(abbr.short_start, abbr.short_end, alignment_mode="strict")
            if long_span is None or short_span is None or not len(long_span):
                continue
            long_ent = by_char.get((long_span.start_char, long_span.end_char))
            short_ent = by_char.get((short_span.start_char, short_span.end_char))
            if long_ent is None:
                # the long form may end with a known entity ("... serotype A")
                long_ent = next((e for e in ents if e.end_char == long_span.end_char and e.start_char >= long_span.start_char), None)
            source = long_ent or short_ent
            if source is None:
                continue
            label = source.label_
            canonical = source._.canonical
            ontology_id = source._.ontology_id
            if short_ent is None:
                new_spans.append(Span(doc, short_span.start, short_span.end, label=label))
            if long_ent is None or (long_ent.start_char > long_span.start_char and long_ent.label_ == label):
                new_spans.append(Span(doc, long_span.start, long_span.end, label=label))
            definitions[short_span.text] = (label, long_span.text, canonical, ontology_id)
        if definitions:
            pattern = re.compile(r"(?<![\w/-])(" + "|".join(re.escape(s) for s in definitions) + r")(?![\w/-])")
            for m in pattern.finditer(text):
                span = doc.char_span(m.start(), m.end())
                if span is not None and (span.start_char, span.end_char) not in by_char:
                    new_spans.append(Span(doc, span.start, span.end, label=definitions[m.group(1)][0]))
        if not definitions:
            return doc
        if doc.has_annotation("SENT_START"):
            # a definition never spans two sentences ("...0\nTE (...)")
            new_spans = [sp for sp in new_spans if not any(t.is_sent_start for t in sp[1:])]
        if new_spans:
            doc.ents = filter_spans(new_spans + ents)
        for ent in doc.ents:
            if ent.text in definitions:
                label, long_text, canonical, ontology_id = definitions[ent.text]
                ent._.long_form = long_text
                if ent._.canonical is None or ent._.canonical == ent.text:
                    ent._.canonical = canonical or long_text.lower()
                    ent._.ontology_id = ontology_id
            elif ent._.canonical is None:
                ent._.canonical = ent.text
        return doc
