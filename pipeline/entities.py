"""Lexicon- and shape-based biomedical entity tagging.

The lexicon (``lexicon.jsonl``, one JSON object per line) is data, not code.
Each entry has ``id``, ``type`` (TREATMENT, CHEMICAL, STRAIN, SPECIES,
CONDITION, DOSE), ``canonical`` and ``ontology_id`` (MeSH where one exists),
and either

* ``forms``: surface forms. A form written all in lowercase matches in any
  case (Botox, botox, BOTOX); a form containing an uppercase letter matches
  only as written, which keeps short abbreviations such as ``AA``, ``TE`` or
  ``ED`` from firing on ordinary words; or
* ``regex``: a pattern over the text for *shapes* (doses, strain names,
  drug classes) so that unseen strains and doses are found too; or
* ``token_regex``: a pattern a single token must match in full (drug-name
  and disease-name suffixes such as -tinib or -itis). Each distinct word is
  checked once and the answer cached, which keeps these shapes off the
  per-sentence cost.

An entry may carry ``alt_type``: molecules that are therapies in one sentence
and body substances in the next (melatonin, caffeine). The alternative type
wins when a measurement word follows ("melatonin levels") or a body-fluid
word precedes ("serum caffeine").

Overlapping candidates are resolved longest-first, as spaCy's
``filter_spans`` does, so "CGRP blockers" (a drug class) beats "CGRP".
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from .segment import doc_text

ENTITY_TYPES = ("TREATMENT", "CHEMICAL", "STRAIN", "SPECIES", "CONDITION", "DOSE")

MEASUREMENT_WORDS = frozenset(
    "level levels concentration concentrations production secretion release synthesis "
    "receptor receptors signaling signalling pathway metabolism clearance expression".split()
)
BODY_WORDS = frozenset("serum plasma endogenous circulating blood salivary urinary free total".split())
TAKING_WORDS = frozenset(
    "take takes taking took taken on add added adding start started starting prescribed dose "
    "supplement supplementing supplemented with try tried trying use using used".split()
)
# Words around a percentage that make it a strength ("5% foam") rather than a result.
FORMULATION_WORDS = frozenset(
    "foam liquid solution cream gel lotion serum shampoo topical oral tincture spray ointment "
    "concentration strength formula formulation version minox minoxidil group arm one stuff bottle".split()
)
_BARE_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_PERCENT = re.compile(r"^(?:~\s?|approx\.?\s|about\s)?\d+(?:[.,]\d+)?(?:\s?[-–]\s?\d+(?:[.,]\d+)?)?\s?(?:%|percent)$",
                      re.IGNORECASE)

for _name in ("canonical", "ontology_id", "long_form"):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=None)


@dataclass(frozen=True)
class LexiconEntry:
    id: str
    type: str
    canonical: str | None = None
    ontology_id: str | None = None
    forms: tuple[str, ...] = ()
    regex: str | None = None
    # a pattern one whole token must match (checked once per distinct word)
    token_regex: str | None = None
    alt_type: str | None = None
    # "treatment": keep a match only near a treatment (bare schedules)
    context: str | None = None


@dataclass
class Lexicon:
    entries: dict[str, LexiconEntry] = field(default_factory=dict)

    @classmethod
    def from_jsonl(cls, path: str | Path) -> "Lexicon":
        entries = {}
        with open(path, encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                raw = json.loads(line)
                entry = LexiconEntry(
                    id=raw["id"],
                    type=raw["type"],
                    canonical=raw.get("canonical"),
                    ontology_id=raw.get("ontology_id"),
                    forms=tuple(raw.get("forms", ())),
                    regex=raw.get("regex"),
                    token_regex=raw.get("token_regex"),
                    alt_type=raw.get("alt_type"),
                    context=raw.get("context"),
                )
                if entry.type not in ENTITY_TYPES:
                    raise ValueError(f"{path}:{number}: unknown entity type {entry.type!r}")
                if entry.id in entries:
                    raise ValueError(f"{path}:{number}: duplicate lexicon id {entry.id!r}")
                entries[entry.id] = entry
        return cls(entries)


def choose_type(entry: LexiconEntry, doc: Doc, start: int, end: int) -> str:
    """Pick TREATMENT or CHEMICAL for molecules that can be either.

    Measured or acting in the body ("melatonin levels", "serum T3") it is a
    CHEMICAL; taken ("started T3", "on melatonin") it is a TREATMENT; else
    the entry's own type.
    """
    if entry.alt_type is None:
        return entry.type
    after = doc[end].lower_ if end < len(doc) else ""
    before = doc[start - 1].lower_ if start > 0 else ""
    types = {entry.type, entry.alt_type}
    if "CHEMICAL" in types and (after in MEASUREMENT_WORDS or before in BODY_WORDS):
        return "CHEMICAL"
    if "TREATMENT" in types and before in TAKING_WORDS:
        return "TREATMENT"
    return entry.type


def near_treatment(span: Span, treatment_tokens: set[int], before: int = 3, after: int = 1) -> bool:
    """Whether a treatment or formulation word sits within a few tokens of ``span``.

    Percentages and bare schedules are doses only in that company: "5% foam",
    "minox twice a day"; "density rose 10%" or "my daily walk" are not.
    """
    doc = span.doc
    window = list(range(max(span.start - before, 0), span.start)) + list(range(span.end, min(span.end + after, len(doc))))
    return any(i in treatment_tokens or doc[i].lower_ in FORMULATION_WORDS for i in window)


@Language.factory("claimtag_entities", default_config={"lexicon_path": None})
def make_entity_tagger(nlp: Language, name: str, lexicon_path: str | None) -> "EntityTagger":
    if lexicon_path is None:
        raise ValueError("claimtag_entities needs lexicon_path (models/lexicon.jsonl)")
    return EntityTagger(nlp, Lexicon.from_jsonl(lexicon_path))


class EntityTagger:
    """spaCy component: lexicon phrases and shape regexes to ``doc.ents``.

    Every entity gets ``ent._.canonical`` and ``ent._.ontology_id`` (None for
    shapes, which have no fixed referent).
    """

    def __init__(self, nlp: Language, lexicon: Lexicon):
        self.lexicon = lexicon
        self.any_case = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.exact_case = PhraseMatcher(nlp.vocab, attr="ORTH")
        self.shapes: list[tuple[re.Pattern, LexiconEntry]] = []
        self.token_shapes: list[tuple[re.Pattern, LexiconEntry]] = []
        self._word_shape: dict[int, LexiconEntry | None] = {}
        self._entry_by_key: dict[int, LexiconEntry] = {}
        for entry in lexicon.entries.values():
            key = nlp.vocab.strings.add(entry.id)
            self._entry_by_key[key] = entry
            lower = [f for f in entry.forms if f == f.lower()]
            exact = [f for f in entry.forms if f != f.lower()]
            if lower:
                self.any_case.add(entry.id, list(nlp.tokenizer.pipe(lower)))
            if exact:
                self.exact_case.add(entry.id, list(nlp.tokenizer.pipe(exact)))
            if entry.regex:
                self.shapes.append((re.compile(entry.regex), entry))
            if entry.token_regex:
                self.token_shapes.append((re.compile(entry.token_regex), entry))

    def candidates(self, doc: Doc) -> list[Span]:
        spans = []
        for key, start, end in self.any_case(doc) + self.exact_case(doc):
            entry = self._entry_by_key[key]
            spans.append(Span(doc, start, end, label=choose_type(entry, doc, start, end), kb_id=entry.id))
        if self.token_shapes:
            strings = doc.vocab.strings
            cache = self._word_shape
            for i, orth in enumerate(doc.to_array("ORTH").tolist()):
                entry = cache.get(orth, False)
                if entry is False:
                    word = strings[orth]
                    entry = next((e for pattern, e in self.token_shapes if pattern.fullmatch(word)), None)
                    cache[orth] = entry
                if entry is not None:
                    spans.append(Span(doc, i, i + 1, label=entry.type, kb_id=entry.id))
        text = doc_text(doc)
        for pattern, entry in self.shapes:
            for match in pattern.finditer(text):
                span = doc.char_span(match.start(), match.end(), label=entry.type, kb_id=entry.id)
                if span is None:
                    span = doc.char_span(match.start(), match.end(), label=entry.type, kb_id=entry.id,
                                         alignment_mode="contract")
                if span is not None and len(span):
                    spans.append(span)
        return spans

    @staticmethod
    def _strengths_after_names(doc: Doc, spans: list[Span]) -> list[Span]:
        """A bare number right after a drug name is its strength: "Vyvanse 50", "dut 0.5"."""
        taken = {i for s in spans for i in range(s.start, s.end)}
        extra = []
        for span in spans:
            i = span.end
            if (span.label_ == "TREATMENT" and i < len(doc) and i not in taken
                    and _BARE_NUMBER.match(doc[i].text) and float(doc[i].text.replace(",", ".")) > 0):
                extra.append(Span(doc, i, i + 1, label="DOSE"))
        return extra

    def _context_ok(self, span: Span, spans: list[Span], treatment_tokens: set[int]) -> bool:
        if span.label_ == "DOSE" and _PERCENT.match(span.text):
            return near_treatment(span, treatment_tokens)
        entry = self.lexicon.entries.get(span.kb_id_)
        if entry is not None and entry.context == "treatment":
            # a bare schedule needs a treatment or an amount in its sentence
            sent = span.sent if span.doc.has_annotation("SENT_START") else span.doc[:]
            return any(o is not span and o.label_ in ("TREATMENT", "DOSE") and o.start >= sent.start and o.end <= sent.end
                       for o in spans)
        return True

    def __call__(self, doc: Doc) -> Doc:
        spans = filter_spans(self.candidates(doc))
        treatment_tokens = {i for s in spans if s.label_ == "TREATMENT" for i in range(s.start, s.end)}
        spans = filter_spans(spans + self._strengths_after_names(doc, spans))
        spans = [s for s in spans if self._context_ok(s, spans, treatment_tokens)]
        # An entity never crosses a sentence boundary.
        if doc.has_annotation("SENT_START"):
            spans = [s for s in spans if not any(t.is_sent_start for t in s[1:])]
        doc.ents = spans
        for ent in doc.ents:
            entry = self.lexicon.entries.get(ent.kb_id_)
            if entry is not None and entry.canonical:
                ent._.canonical = entry.canonical
                ent._.ontology_id = entry.ontology_id
            elif entry is not None and entry.forms and ent.label_ != "STRAIN":
                # entries that group many names (a drug class, a list of
                # symptoms) have no single canonical name: each name is its own
                ent._.canonical = ent.text.lower()
            else:
                ent._.canonical = ent.text
        return doc
