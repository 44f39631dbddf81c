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
CUE_PATTERNS: dict[str, str] = {
    "hedge": r"\b(might|may|could|maybe|perhaps|possibly|probably|likely|unlikely|suspect\w*|wonder\w*|theor\w*|"
             r"hypothes\w*|guess|bet|speculat\w*|propos\w*|suggests?|seems?|appears?|potentially|presumably|imo|"
             r"imho|i think|i believe|i feel like|would explain|could explain|what if|plausibl\w*)\b",
    "doubt": r"\b(doubt\w*|skeptic\w*|sceptic\w*|not convinced|unconvinced|bs|bullshit|scam\w*|snake oil|hype\w*|"
             r"overblown|meme|placebo|nocebo|confound\w*|correlation|cherry.?pick\w*|biased?|funded|sponsor\w*|"
             r"small (sample|n|study)|tiny|underpowered|no control|uncontrolled|anecdotal|limitation\w*|caution\w*|"
             r"caveat\w*|flawed|weak|questionable|misleading|proof|evidence|source|lmao|lol|sure buddy|yeah right|"
             r"cope|copium|grain of salt|doesn'?t mean|does not mean|aren'?t|isn'?t|wasn'?t|never)\b",
    "first_person": r"\b(i|i'm|im|i've|ive|i'd|me|my|mine|myself)\b",
    "close_other": r"\b(my (wife|husband|brother|sister|mom|mum|dad|friend|son|daughter|gf|bf|partner|doc|doctor|derm|"
                   r"gp|endo|neuro)|a (friend|guy|buddy|coworker|colleague)|someone|people i know)\b",
    "we": r"\b(we|our|us)\b",
    "research": r"\b(study|studies|trial\w*|paper\w*|researchers?|authors?|data|cohort|meta.?analys\w*|randomi[sz]ed|"
                r"participants|patients|subjects|group|arm|baseline|significant\w*|p ?[<=]|n ?=|observed|measured|"
                r"reported|showed|shown|found|increased|decreased|reduced|improved|compared|versus|vs|odds|risk|ratio)\b",
    "past_tense": r"\b\w+ed\b",
    "personal_time": r"\b(months?|weeks?|years?|yrs?|days?) (in|on|later|ago)\b|\b(since|started|stopped|tried|been|"
                     r"using|taking|took)\b",
    "question": r"\?",
    "exclamation": r"!",
    "addressee": r"\b(you|your|u|ur|anyone|anybody|everyone|guys)\b",
    "social": r"\b(thanks|thank|thx|ty|bump|hi|hello|hey|welcome|cheers|good luck|congrats|following|update)\b",
    "negation": r"\b(not|no|never|none|nothing|dont|didnt|doesnt|cant|wont)\b|n't\b",
    "future": r"\b(will|gonna|going to|would|should|expect\w*|predict\w*)\b",
    "number": r"\b0\b",
}
_CUES = [re.compile(p, re.IGNORECASE) for p in CUE_PATTERNS.values()]


class CueCounts(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: capped counts of guideline cue classes, plus length and a final '?'."""

    def __init__(self, scale: float = 1.0, cap: int = 3):
        self.scale = scale
        self.cap = cap

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        from scipy import sparse

        rows = numpy.zeros((len(X), len(_CUES) + 2), dtype=numpy.float32)
        for i, text in enumerate(X):
            for j, pattern in enumerate(_CUES):
                rows[i, j] = min(len(pattern.findall(text)), self.cap) / self.cap
            rows[i, -2] = min(len(text.split()), 60) / 60
            rows[i, -1] = float(text.rstrip().endswith("?"))
        return sparse.csr_matrix(rows * self.scale)

# Word tokens plus the punctuation that carries claim type (? ! ...).
WORD_PATTERN = r"(?u)\b\w+\b|[?!]|\.\.\.|…"


def build_estimator(
    model: str = "logreg",
    C: float = 4.0,
    char_ngrams: tuple[int, int] = (2, 5),
    word_ngrams: tuple[int, int] = (1, 2),
    use_chars: bool = True,
    use_cues: bool = True,
    calibrate: bool = True,
    random_state: int = 0,
):
    """The claim classifier as a scikit-learn Pipeline over masked sentences."""
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
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams,
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


def sentence_bounds(sent: Span) -> tuple[int, int] | None:
    """Character offsets of ``sent`` without surrounding whitespace, or None if blank."""
    text = sent.text
    stripped = text.strip()
    if not stripped:
        return None
    lead = len(text) - len(text.lstrip())
    start = sent.start_char + lead
    return start, start + len(stripped)


def masked_sentences(doc: Doc) -> Iterator[tuple[Span, int, int, str]]:
    """Each non-blank sentence with its character bounds and masked text."""
    ents = list(doc.ents)
    k = 0
    for sent in doc.sents:
        bounds = sentence_bounds(sent)
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
        yield sent, start, end, mask_sentence(doc.text[start:end], inside)


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
        size = batch_size or self.batch_size
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= size:
                yield from self.predict_docs(batch)
                batch = []
        if batch:
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
