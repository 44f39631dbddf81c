"""Claim-type classification of sentences.

The classifier sees a sentence with its entities replaced by their type
("been on TREATMENT DOSE for 0 yrs"), numbers folded to 0 and links to
``URL``. Masking is what lets a model trained on hair-loss talk label a
migraine forum: the claim type lives in the verbs, hedges, pronouns and
punctuation around the entities, not in which drug is named.

The estimator is a plain scikit-learn ``Pipeline`` (features → calibrated
linear model) whose input is the masked text; :class:`ClaimClassifier` wraps
it as a spaCy component that predicts all sentences of a batch of docs with
one ``predict_proba`` call.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

import numpy
from sklearn.base import BaseEstimator, TransformerMixin
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from .segment import doc_text

LABELS = ("finding", "hypothesis", "skepticism", "anecdote", "other")

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_BULLET = re.compile(r"^\s*(?:[-*•·–—>+]|\d{1,3}[.)])\s+")


def mask_sentence(text: str, entities: Iterable[tuple[int, int, str]] = ()) -> str:
    """Replace entity spans (offsets into ``text``) by their type, fold numbers and links."""
    pieces = []
    last = 0
    for start, end, label in sorted(entities):
        if start < last:
            continue
        pieces.append(text[last:start])
        pieces.append(f" {label} ")
        last = end
    pieces.append(text[last:])
    masked = "".join(pieces)
    masked = _URL.sub(" URL ", masked)
    masked = _BULLET.sub("", masked)
    return _NUMBER.sub("0", masked)


# -- the scikit-learn side ---------------------------------------------------

# Cue classes from the annotation guideline. Each class pools words that do
# the same discourse job, so a hedge the corpus never saw ("presumably")
# still counts as a hedge; that is what carries over to other forums.
# Entries ending in "*" are prefixes; entries with spaces are phrases.
CUE_CLASSES: dict[str, tuple[str, ...]] = {
    "hedge": ("might", "may", "could", "maybe", "perhaps", "possibly", "probably", "likely", "unlikely", "suspect*",
              "wonder*", "theor*", "hypothes*", "guess", "bet", "speculat*", "propos*", "suggest*", "seem*", "appear*",
              "potentially", "presumably", "imo", "imho", "plausibl*", "i think", "i believe", "i feel like",
              "would explain", "could explain", "what if"),
    "doubt": ("doubt*", "skeptic*", "sceptic*", "not convinced", "unconvinced", "bs", "bullshit", "scam*", "snake oil",
              "hype*", "overblown", "meme", "placebo", "nocebo", "confound*", "correlation", "biased", "bias", "funded",
              "sponsor*", "small sample", "small n", "small study", "tiny", "underpowered", "no control", "uncontrolled",
              "anecdotal", "limitation*", "caution*", "caveat*", "flawed", "weak", "questionable", "misleading", "proof",
              "evidence", "source", "lmao", "lol", "sure buddy", "yeah right", "cope", "copium", "grain of salt",
              "doesn't mean", "doesnt mean", "does not mean", "aren't", "isn't", "wasn't", "never"),
    "first_person": ("i", "i'm", "im", "i've", "ive", "i'd", "me", "my", "mine", "myself"),
    "close_other": ("my wife", "my husband", "my brother", "my sister", "my mom", "my mum", "my dad", "my friend",
                    "my son", "my daughter", "my gf", "my bf", "my partner", "my doc", "my doctor", "my derm", "my gp",
                    "my endo", "my neuro", "a friend", "a guy", "a buddy", "a coworker", "a colleague", "someone",
                    "people i know"),
    "we": ("we", "our", "us"),
    "research": ("study", "studies", "trial*", "paper*", "researcher*", "author*", "data", "cohort", "meta", "randomi*",
                 "participants", "patients", "subjects", "group", "arm", "baseline", "significant*", "observed",
                 "measured", "reported", "showed", "shown", "found", "increased", "decreased", "reduced", "improved",
                 "compared", "versus", "vs", "odds", "risk", "ratio"),
    "past_tense": (),  # any word of four or more letters ending in -ed
    "personal_time": ("since", "started", "stopped", "tried", "been", "using", "taking", "took", "months in",
                      "month in", "weeks in", "years in", "days in", "months on", "weeks on", "years on", "months later",
                      "weeks later", "years later", "months ago", "weeks ago", "years ago", "days ago", "yrs on"),
    "question": ("?",),
    "exclamation": ("!",),
    "addressee": ("you", "your", "u", "ur", "anyone", "anybody", "everyone", "guys"),
    "social": ("thanks", "thank", "thx", "ty", "bump", "hi", "hello", "hey", "welcome", "cheers", "good luck",
               "congrats", "following", "update"),
    "negation": ("not", "no", "never", "none", "nothing", "dont", "didnt", "doesnt", "cant", "wont"),  # and any -n't
    "future": ("will", "gonna", "going to", "would", "should", "expect*", "predict*"),
    "number": ("0",),
}
_CUE_NAMES = tuple(CUE_CLASSES)
_CUE_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?!]")


def _cue_tables():
    words: dict[str, list[int]] = {}
    prefixes: list[tuple[str, int]] = []
    phrases: dict[str, list[int]] = {}
    for k, name in enumerate(_CUE_NAMES):
        for cue in CUE_CLASSES[name]:
            if " " in cue:
                phrases.setdefault(cue, []).append(k)
            elif cue.endswith("*"):
                prefixes.append((cue[:-1], k))
            else:
                words.setdefault(cue, []).append(k)
    return words, tuple(prefixes), phrases


_CUE_WORDS, _CUE_PREFIXES, _CUE_PHRASES = _cue_tables()
_PAST, _NEGATION = _CUE_NAMES.index("past_tense"), _CUE_NAMES.index("negation")


def word_cues(word: str) -> tuple[int, ...]:
    """Cue classes of one lowercased word (memoised: forum vocabularies repeat)."""
    found = _WORD_CUE_CACHE.get(word)
    if found is None:
        classes = list(_CUE_WORDS.get(word, ()))
        classes += [k for prefix, k in _CUE_PREFIXES if word.startswith(prefix) and k not in classes]
        if len(word) >= 4 and word.endswith("ed") and _PAST not in classes:
            classes.append(_PAST)
        if word.endswith("n't") and _NEGATION not in classes:
            classes.append(_NEGATION)
        found = _WORD_CUE_CACHE[word] = tuple(classes)
    return found


_WORD_CUE_CACHE: dict[str, tuple[int, ...]] = {}


class CueCounts(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: capped counts of guideline cue classes, plus length and a final '?'."""

    def __init__(self, scale: float = 1.0, cap: int = 3):
        self.scale = scale
        self.cap = cap

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        from scipy import sparse

        n_classes = len(_CUE_NAMES)
        rows = numpy.zeros((len(X), n_classes + 2), dtype=numpy.float32)
        phrases = _CUE_PHRASES
        for i, text in enumerate(X):
            words = _CUE_WORD.findall(text.lower())
            row = rows[i]
            for word in words:
                for k in word_cues(word):
                    row[k] += 1
            for a, b in zip(words, words[1:]):
                for k in phrases.get(f"{a} {b}", ()):
                    row[k] += 1
            for a, b, c in zip(words, words[1:], words[2:]):
                for k in phrases.get(f"{a} {b} {c}", ()):
                    row[k] += 1
            row[-2] = len(words)
            row[-1] = float(text.rstrip().endswith("?"))
        numpy.minimum(rows[:, :n_classes], self.cap, out=rows[:, :n_classes])
        rows[:, :n_classes] /= self.cap
        numpy.minimum(rows[:, -2], 60, out=rows[:, -2])
        rows[:, -2] /= 60
        return sparse.csr_matrix(rows * self.scale)


# Word tokens plus the punctuation that carries claim type (? ! ...).
WORD_PATTERN = r"(?u)\b\w+\b|[?!]|\.\.\.|…"


def build_estimator(
    model: str = "logreg",
    C: float = 4.0,
    char_ngrams: tuple[int, int] = (2, 5),
    word_ngrams: tuple[int, int] = (1, 2),
    use_chars: bool = True,
    char_analyzer: str = "char_wb",
    use_cues: bool = True,
    calibrate: bool = True,
    random_state: int = 0,
):
    """The claim classifier as a scikit-learn Pipeline over masked sentences.

    ``char_analyzer="char"`` lets character n-grams run across word
    boundaries ("n't k", "t be"), so short word pairs and contractions count
    even when spelled in ways the word n-grams never saw.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.svm import LinearSVC

    features = [
        ("words", TfidfVectorizer(token_pattern=WORD_PATTERN, ngram_range=word_ngrams,
                                  sublinear_tf=True, min_df=2, lowercase=True, dtype=numpy.float32)),
    ]
    if use_chars:
        features.append(
            ("chars", TfidfVectorizer(analyzer=char_analyzer, ngram_range=char_ngrams,
                                      sublinear_tf=True, min_df=2, lowercase=True, dtype=numpy.float32))
        )
    if use_cues:
        features.append(("cues", CueCounts()))
    if model == "logreg":
        clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", random_state=random_state)
    elif model == "svm":
        clf = LinearSVC(C=C / 10, class_weight="balanced", random_state=random_state)
    else:
        raise ValueError(f"unknown model {model!r}")
    if calibrate:
        clf = CalibratedClassifierCV(clf, method="sigmoid", cv=5, ensemble=False)
    return Pipeline([("features", FeatureUnion(features)), ("classifier", clf)])


def ordered_proba(estimator, texts: Sequence[str]) -> numpy.ndarray:
    """``predict_proba`` with columns in :data:`LABELS` order."""
    proba = estimator.predict_proba(list(texts))
    classes = list(estimator.classes_)
    if classes == list(LABELS):
        return proba
    out = numpy.zeros((len(texts), len(LABELS)), dtype=proba.dtype)
    for j, label in enumerate(classes):
        out[:, LABELS.index(label)] = proba[:, j]
    return out


# -- the spaCy side ----------------------------------------------------------

if not Doc.has_extension("sent_claims"):
    Doc.set_extension("sent_claims", default=None)


def _sent_claim(span: Span):
    claims = span.doc._.sent_claims
    return None if claims is None else claims.get(span.start)


if not Span.has_extension("label"):
    Span.set_extension("label", getter=lambda s: (c := _sent_claim(s)) and c[0])
if not Span.has_extension("label_probs"):
    Span.set_extension(
        "label_probs", getter=lambda s: (c := _sent_claim(s)) and dict(zip(LABELS, c[1].tolist()))
    )


def sentence_bounds(sent: Span, doc_string: str | None = None) -> tuple[int, int] | None:
    """Character offsets of ``sent`` without surrounding whitespace, or None if blank."""
    text = doc_string if doc_string is not None else doc_text(sent.doc)
    start, end = sent.start_char, sent.end_char
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def masked_sentences(doc: Doc) -> Iterator[tuple[Span, int, int, str]]:
    """Each non-blank sentence with its character bounds and masked text."""
    ents = list(doc.ents)
    text = doc_text(doc)
    k = 0
    for sent in doc.sents:
        bounds = sentence_bounds(sent, text)
        if bounds is None:
            continue
        start, end = bounds
        while k < len(ents) and ents[k].end_char <= start:
            k += 1
        inside = []
        j = k
        while j < len(ents) and ents[j].start_char < end:
            e = ents[j]
            inside.append((e.start_char - start, e.end_char - start, e.label_))
            j += 1
        yield sent, start, end, mask_sentence(text[start:end], inside)


@Language.factory(
    "claimtag_classifier",
    default_config={"model_dir": None, "trust_model": False, "batch_size": 256},
)
def make_claim_classifier(nlp: Language, name: str, model_dir: str | None, trust_model: bool, batch_size: int):
    from .model import ModelFiles, load_estimator, resolve_model_dir

    files = ModelFiles(resolve_model_dir(model_dir))
    estimator, card = load_estimator(files, trust_model=trust_model)
    return ClaimClassifier(estimator, version=card.get("version", "unknown"),
                           sha256=card.get("sha256", ""), batch_size=batch_size)


class ClaimClassifier:
    """spaCy component: ``sent._.label`` and ``sent._.label_probs`` for every sentence."""

    def __init__(self, estimator, version: str = "unknown", sha256: str = "", batch_size: int = 256):
        self.estimator = estimator
        self.version = version
        self.sha256 = sha256
        self.batch_size = batch_size

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.predict_docs([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        for batch in minibatch(docs, size=batch_size or self.batch_size):
            yield from self.predict_docs(batch)

    def predict_docs(self, docs: list[Doc]) -> list[Doc]:
        starts: list[tuple[Doc, int]] = []
        texts: list[str] = []
        for doc in docs:
            doc._.sent_claims = {}
            for sent, _start, _end, masked in masked_sentences(doc):
                starts.append((doc, sent.start))
                texts.append(masked)
        if texts:
            proba = ordered_proba(self.estimator, texts)
            best = proba.argmax(axis=1)
            for (doc, token_start), row, b in zip(starts, proba, best):
                doc._.sent_claims[token_start] = (LABELS[b], row)
        return docs
