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

The rules above propose; an optional learned *span typer* disposes. It is a
scikit-learn Pipeline (``DictVectorizer`` + ``LogisticRegression``) trained on
the corpus that looks at each rule candidate in its context (neighbouring
words, the rule's own type and verdict, the lexicon entry, the word shape)
and answers one of the six types or ``NONE``. This is the candidate-then-
classify design of rule-seeded NER (e.g. Collins & Singer 1999, "Unsupervised
models for named entity classification"): the rules give recall, the
classifier learns the conventions the rules cannot state, such as when
"estradiol" is the therapy and when it is the hormone being measured, or when
"5%" is a strength rather than a result. Without a typer the rule verdicts
stand.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans, minibatch

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


def join_adjacent_doses(spans: list[Span]) -> list[Span]:
    """Merge a DOSE directly followed by another DOSE: an amount and its schedule are one span.

    "50 mg" + "twice a day", "1mg" + "ED", "Trazodone 50" + "at bedtime" are
    found by different patterns; the guideline tags them as one dose.
    ``spans`` must be sorted and non-overlapping (as ``filter_spans`` returns).
    """
    out: list[Span] = []
    for span in spans:
        prev = out[-1] if out else None
        if prev is not None and prev.label_ == "DOSE" and span.label_ == "DOSE" and prev.end == span.start:
            out[-1] = Span(span.doc, prev.start, span.end, label="DOSE", kb_id=prev.kb_id)
        else:
            out.append(span)
    return out


_CASE_SENSITIVE_CHARS = re.compile(r"[.'’+]")


def capitalised_variants(form: str) -> list[str]:
    """The ways a lowercase form is usually capitalised: first word, every word."""
    first = form[:1].upper() + form[1:]
    every = " ".join(w[:1].upper() + w[1:] for w in form.split(" "))
    return list(dict.fromkeys((first, every)))


def retokenized_variants(form: str, tokenizer) -> list[str]:
    """Capitalised spellings of ``form`` that tokenize differently from it.

    Case-insensitive matching compares lowercased tokens, so it only fails
    when capitals change the token boundaries: "c. acnes" is two tokens but
    "C. acnes" is three (a capital before a period is split off as an
    initial), and "St. John's wort" keeps "St." whole where "st. john's wort"
    does not. Those spellings are matched as patterns of their own.

    The case-sensitive tokenizer rules a capital first letter can trigger
    all involve a period, an apostrophe or a plus sign (abbreviations and
    initials, contractions, "C++"), so other forms are not tokenized again:
    that would be a third of the entity stage's start-up for nothing.
    """
    if not _CASE_SENSITIVE_CHARS.search(form):
        return []
    lowered = [t.lower_ for t in tokenizer(form)]
    return [v for v in capitalised_variants(form) if [t.lower_ for t in tokenizer(v)] != lowered]


NO_ENTITY = "NONE"


def word_shape(text: str) -> str:
    """Collapsed character classes: "C57BL/6J" -> "AddAA/dA", "0.5mg" -> "d.daa"."""
    shape = re.sub(r"[A-Z]", "A", text)
    shape = re.sub(r"[a-z]", "a", shape)
    shape = re.sub(r"\d", "d", shape)
    return re.sub(r"(.)\1+", r"\1\1", shape)


def span_features(span: Span, rule_keeps: bool, treatment_tokens: set[int]) -> dict[str, float]:
    """What the span typer sees of one rule candidate: itself, its rule verdict, three words each side."""
    doc = span.doc
    features = {
        "rule=" + span.label_: 1.0,
        "rule_keeps": float(rule_keeps),
        "text=" + span.text.lower(): 1.0,
        "entry=" + (span.kb_id_ or "-"): 1.0,
        "shape=" + word_shape(span.text): 1.0,
        "tokens": float(len(span)),
        "title": float(span[0].is_title),
        "upper": float(span[0].is_upper),
        "sentence_start": float(span.start == 0 or span[0].is_sent_start is True),
    }
    for k in (1, 2, 3):
        left = doc[span.start - k].lower_ if span.start - k >= 0 else "<s>"
        right = doc[span.end + k - 1].lower_ if span.end + k - 1 < len(doc) else "</s>"
        # the adjacent words by position, the next two as a bag
        features[f"left1={left}" if k == 1 else f"left={left}"] = 1.0
        features[f"right1={right}" if k == 1 else f"right={right}"] = 1.0
    others = treatment_tokens - set(range(span.start, span.end))
    features["near_treatment"] = float(near_treatment(span, others, before=3, after=2))
    return features


def build_span_typer(C: float = 3.0, random_state: int = 0):
    """The span typer: a scikit-learn Pipeline from :func:`span_features` dicts to a type or ``NONE``."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([
        ("features", DictVectorizer()),
        ("classifier", LogisticRegression(C=C, max_iter=3000, random_state=random_state)),
    ])


@Language.factory(
    "claimtag_entities",
    default_config={"lexicon_path": None, "model_dir": None, "trust_model": False, "batch_size": 256},
)
def make_entity_tagger(nlp: Language, name: str, lexicon_path: str | None, model_dir: str | None,
                       trust_model: bool, batch_size: int) -> "EntityTagger":
    """Rules only from ``lexicon_path``; from ``model_dir``, its lexicon plus its span typer if it has one."""
    typer = None
    if model_dir is not None:
        from .model import ModelFiles, load_span_typer

        files = ModelFiles(Path(model_dir))
        lexicon_path = lexicon_path or str(files.lexicon)
        typer = load_span_typer(files, trust_model=trust_model)
    if lexicon_path is None:
        raise ValueError("claimtag_entities needs lexicon_path (models/lexicon.jsonl) or model_dir")
    return EntityTagger(nlp, Lexicon.from_jsonl(lexicon_path), typer=typer, batch_size=batch_size)


class EntityTagger:
    """spaCy component: lexicon phrases and shape regexes to ``doc.ents``.

    Every entity gets ``ent._.canonical`` and ``ent._.ontology_id`` (None for
    shapes, which have no fixed referent). ``typer`` is the fitted span typer
    or None (rule verdicts only); ``pipe()`` asks it about a whole batch of
    docs at once.
    """

    def __init__(self, nlp: Language, lexicon: Lexicon, typer=None, batch_size: int = 256):
        self.typer = typer
        self.batch_size = batch_size
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
            lower += [v for f in lower for v in retokenized_variants(f, nlp.tokenizer)]
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

    def rule_candidates(self, doc: Doc) -> tuple[list[Span], list[bool], set[int]]:
        """Non-overlapping candidates, whether the rules keep each, and the treatment tokens."""
        spans = filter_spans(self.candidates(doc))
        treatment_tokens = {i for s in spans if s.label_ == "TREATMENT" for i in range(s.start, s.end)}
        spans = join_adjacent_doses(filter_spans(spans + self._strengths_after_names(doc, spans)))
        keeps = [self._context_ok(s, spans, treatment_tokens) for s in spans]
        return spans, keeps, treatment_tokens

    def __call__(self, doc: Doc) -> Doc:
        return self.tag_docs([doc])[0]

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        for batch in minibatch(docs, size=batch_size or self.batch_size):
            yield from self.tag_docs(batch)

    def tag_docs(self, docs: list[Doc]) -> list[Doc]:
        proposals = [self.rule_candidates(doc) for doc in docs]
        if self.typer is None:
            decided = [[s for s, keep in zip(spans, keeps) if keep] for spans, keeps, _ in proposals]
        else:
            features = [span_features(s, keep, tokens)
                        for spans, keeps, tokens in proposals for s, keep in zip(spans, keeps)]
            types = iter(self.typer.predict(features) if features else ())
            decided = []
            for spans, _, _ in proposals:
                kept = []
                for span in spans:
                    label = next(types)
                    if label != NO_ENTITY:
                        kept.append(span if label == span.label_ else
                                    Span(span.doc, span.start, span.end, label=label, kb_id=span.kb_id))
                decided.append(kept)
        for doc, spans in zip(docs, decided):
            self._set_entities(doc, spans)
        return docs

    def _set_entities(self, doc: Doc, spans: list[Span]) -> None:
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
