"""Sentence segmentation for forum posts, and the tokenizer rules it relies on.

Forum text breaks the assumptions of newswire sentence splitters: sentences
start in lowercase, ellipses sit inside sentences ("areata...would"), bullets
and hard line breaks carry structure, and biomedical names contain the very
characters splitters cut on (``BoNT/A``, ``C57BL/6J``, ``0.5mg``, ``et al.``).

The splitter is a small rule cascade in the spirit of Kiss & Strunk's Punkt
(2006) with a fixed abbreviation list instead of a learned one:

1. blank lines and bullet items always start a new sentence;
2. a hard line break starts one unless the line before ends mid-phrase
   (comma, conjunction, article) or the next line starts in lowercase;
3. ``!`` and ``?`` followed by whitespace end a sentence;
4. ``.`` followed by whitespace ends one unless the word before it is a known
   abbreviation (``e.g.``, ``vs.``, ``approx.``...); a few weak abbreviations
   (``etc.``, ``al.``) end one only before an uppercase start;
5. an ellipsis followed by whitespace ends one only before an uppercase start;
6. a sentence longer than ``max_chars`` is cut at the last comma or space
   before the limit and marked ``forced``.

Boundaries only ever fall on whitespace (except for a forced cut of a
whitespace-free run), so they align with spaCy tokens. All functions here are
pure; :class:`SentenceSegmenter` is the spaCy component that applies them.
"""
from __future__ import annotations

import re
from typing import NamedTuple

import numpy
import spacy.util
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

MAX_SENTENCE_CHARS = 1000

# Abbreviations after which a period never ends a sentence.
STRONG_ABBREVIATIONS = frozenset(
    """e.g. i.e. eg. ie. vs. v. cf. approx. appr. ca. dr. mr. mrs. ms. prof. fig. figs.
    no. nos. st. incl. esp. resp. eq. ref. refs. sp. spp. var. viz. aka. a.k.a. inc.
    dept. univ. mt. jan. feb. mar. apr. jun. jul. aug. sep. sept. oct. nov. dec.
    p. pp. vol. ed. eds. e.t.c. u.s. u.k.""".split()
)
# Abbreviations that end a sentence only when an uppercase word follows.
WEAK_ABBREVIATIONS = frozenset("etc. al. yrs. wks. hrs. mos. min. max. avg. mg. approx".split())

# Species epithets that follow an abbreviated genus ("C. elegans", "E. coli"):
# the period after the genus initial does not end the sentence. A closed list,
# because forum writers also start sentences in lowercase ("vitamin D. then").
BINOMIAL_EPITHETS = frozenset(
    """coli elegans aureus epidermidis acnes albicans difficile pylori melanogaster boulardii rhamnosus
    reuteri cerevisiae gingivalis mutans muris pneumoniae jejuni sapiens musculus norvegicus rerio
    faecalis faecium prausnitzii muciniphila longum bifidum breve infantis lactis acidophilus plantarum
    casei paracasei fragilis tuberculosis trachomatis gondii falciparum vivax burgdorferi typhimurium
    enterica aeruginosa subtilis thermophilus salivarius bulgaricus perfringens botulinum tetani
    furfur globosa restricta folliculorum brevis canis felis auris glabrata pyogenes agalactiae
    influenzae meningitidis gonorrhoeae pallidum monocytogenes cholerae mirabilis vulgaris
    granulosum sativa officinalis biloba cubensis""".split()
)
_LOWER_WORD = re.compile(r"[a-z]+")
_BULLET = re.compile(r"(?:[-*•·–—>+]|\d{1,3}[.)]|[a-zA-Z][)])\s")
_JOINING_WORDS = frozenset(
    "and or but with the a an to of for in on at by from as that which who because so "
    "if than then my your his her their its our is are was were be been like".split()
)
# Terminal punctuation, optional closing quotes/brackets, then whitespace.
_TERMINAL = re.compile(r"(\.{2,}|…|[.!?]+)[\"'”’)\]]*(?=\s)")
_LINE_END_TERMINAL = re.compile(r"[.!?…:;]$")


class Sentence(NamedTuple):
    start: int
    end: int
    forced: bool = False


def _is_blank(line: str) -> bool:
    return not line.strip()


def _line_break_is_boundary(prev_line: str, next_line: str) -> bool:
    """Decide whether a single hard line break separates two sentences."""
    nxt = next_line.lstrip()
    prev = prev_line.rstrip()
    if not nxt or not prev:
        return True
    if _BULLET.match(nxt) or _BULLET.match(prev.lstrip()):
        return True
    if _LINE_END_TERMINAL.search(prev):
        return True
    if prev.endswith((",", "-", "&", "/", "(")):
        return False
    last_word = prev.rsplit(None, 1)[-1].lower()
    if last_word in _JOINING_WORDS:
        return False
    first = nxt[0]
    return not first.islower()


def _block_boundaries(text: str) -> list[int]:
    """Offsets where a new sentence must start because of layout (lines, bullets)."""
    cuts = []
    offset = 0
    lines = text.split("\n")
    prev_line = None
    for line in lines:
        if prev_line is not None:
            if _is_blank(prev_line) or _is_blank(line) or _line_break_is_boundary(prev_line, line):
                stripped = len(line) - len(line.lstrip())
                if line.strip():
                    cuts.append(offset + stripped)
        if line.strip() or prev_line is None:
            prev_line = line
        else:
            prev_line = ""
        offset += len(line) + 1
    return cuts


def _word_before(text: str, end: int) -> str:
    """The whitespace-delimited word ending at ``end`` (exclusive), lowercased."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end].lstrip("([{\"'“‘*_").lower()


def _punctuation_boundaries(text: str) -> list[int]:
    cuts = []
    n = len(text)
    for match in _TERMINAL.finditer(text):
        punct = match.group(1)
        nxt = match.end()
        while nxt < n and text[nxt].isspace():
            nxt += 1
        if nxt >= n:
            continue
        following = text[nxt]
        if punct == "." :
            word = _word_before(text, match.start(1) + 1)
            if word in STRONG_ABBREVIATIONS:
                continue
            if word in WEAK_ABBREVIATIONS and not following.isupper():
                continue
            if len(word) == 2 and word[0].isalpha():
                epithet = _LOWER_WORD.match(text, nxt)
                if epithet and epithet.group(0) in BINOMIAL_EPITHETS:
                    continue
            # "5 mg. daily" style unit abbreviations followed by lowercase
            if len(word) <= 2 and word[:-1].isalpha() and word[:-1].isupper() and following.isupper():
                # single-letter initials ("J. Smith") do not end sentences
                continue
        elif punct in ("…",) or punct.startswith(".."):
            if not (following.isupper() or "\n" in text[match.end():nxt]):
                continue
        cuts.append(nxt)
    return cuts


def _force_split(text: str, start: int, end: int, max_chars: int) -> list[Sentence]:
    """Cut an over-long span into pieces of at most ``max_chars`` characters."""
    pieces = []
    while end - start > max_chars:
        limit = start + max_chars
        window = text[start + max_chars // 2 : limit]
        cut = -1
        for sep in (";", ",", " ", "\t", "\n"):
            pos = window.rfind(sep)
            if pos >= 0:
                cut = start + max_chars // 2 + pos + 1
                break
        if cut < 0:
            cut = limit
        piece_end = cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append(Sentence(start, piece_end, True))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        pieces.append(Sentence(start, end, bool(pieces)))
    return pieces


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[Sentence]:
    """Split ``text`` into sentences with ``text[s.start:s.end]`` the sentence.

    Sentences are ordered, never overlap, never start or end with whitespace,
    and together cover every non-whitespace character of ``text``.
    """
    cuts = sorted(set(_block_boundaries(text)) | set(_punctuation_boundaries(text)))
    sentences: list[Sentence] = []
    bounds = [0] + cuts + [len(text)]
    for a, b in zip(bounds, bounds[1:]):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a >= b:
            continue
        if b - a > max_chars:
            sentences.extend(_force_split(text, a, b, max_chars))
        else:
            sentences.append(Sentence(a, b))
    return sentences


# --------------------------------------------------------------------------
# Tokenizer rules: keep biomedical names whole so entity patterns see them.

_KEEP_WHOLE = re.compile(
    r"""(?x)(?:
      (?i:bont)[/-]?[a-gA-G]                                   # BoNT/A, BoNT-A
    | (?:C57BL|C57|C3H|BALB|DBA|NOD|FVB|CBA|SJL|AKR|NZ[BW]|129(?:S\d|X\d|P\d)?|B6|SKH|A)
      /[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*                       # C57BL/6J, BALB/c, C3H/HeJ
    | \d+(?:[.,]\d+)?%                                         # 5%, 0.025%
    | (?:\d+(?:[.,]\d+)?)?(?:pg|ng|µg|μg|ug|mcg|mg|g|U|IU|iu|units?|ml|mL)
      /(?:mouse|kg|day|d|ml|mL|site|rat|cm2|cm²|week|wk|wk|dose|h)  # pg/mouse, mg/kg, 1mg/day
    )\Z"""
)


def customize_tokenizer(nlp: Language) -> Language:
    """Keep strain names, toxin serotypes, percentages and per-unit doses as one token."""
    nlp.tokenizer.token_match = _KEEP_WHOLE.match
    # spaCy keeps "U." or "D." together as an initial; in our texts a single
    # letter before a period is a unit or a serotype at the end of a sentence.
    # "U." and "D." end sentences ("100 U."), "CD8+" marks a cell population.
    suffixes = list(nlp.Defaults.suffixes) + [r"(?<=[A-Z])\.", r"(?<=[A-Za-z0-9])\+"]
    nlp.tokenizer.suffix_search = spacy.util.compile_suffix_regex(suffixes).search
    # Forum regimens glue names with "+": "fin+minox", "ibuprofen+acetaminophen".
    infixes = list(nlp.Defaults.infixes) + [r"(?<=[A-Za-z])\+(?=[A-Za-z])"]
    nlp.tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
    return nlp


@Language.factory(
    "claimtag_segmenter",
    default_config={"max_chars": MAX_SENTENCE_CHARS},
)
def make_segmenter(nlp: Language, name: str, max_chars: int) -> "SentenceSegmenter":
    return SentenceSegmenter(max_chars=max_chars)


def doc_text(doc: Doc) -> str:
    """``doc.text``, computed once per doc.

    spaCy rebuilds ``Doc.text`` from its tokens on every access, which made
    per-sentence slicing quadratic in the post length.
    """
    text = doc.user_data.get("claimtag.text")
    if text is None:
        text = doc.user_data["claimtag.text"] = doc.text
    return text


if not Doc.has_extension("forced_splits"):
    Doc.set_extension("forced_splits", default=None)


class SentenceSegmenter:
    """spaCy component: sets sentence starts from :func:`split_sentences`.

    Sentences cut only because they exceeded ``max_chars`` are recorded in
    ``doc._.forced_splits`` as a set of their start token indices.
    """

    def __init__(self, max_chars: int = MAX_SENTENCE_CHARS, split: bool = True):
        self.max_chars = max_chars
        # split=False treats every doc as one sentence (gold sets, pre-split input)
        self.split = split

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if n == 0:
            return doc
        if self.split:
            sentences = split_sentences(doc_text(doc), self.max_chars)
        else:
            text = doc_text(doc)
            stripped = text.strip()
            lead = len(text) - len(text.lstrip())
            sentences = [Sentence(lead, lead + len(stripped))] if stripped else []
        token_starts = doc.to_array("IDX")
        flags = numpy.full((n, 1), -1, dtype="int64")
        # Leading whitespace tokens belong to the first sentence.
        flags[0, 0] = 1
        forced = set()
        first = True
        for sent in sentences:
            i = int(numpy.searchsorted(token_starts, sent.start, side="right")) - 1
            i = max(i, 0)
            if first:
                first = False
                if sent.forced:
                    forced.add(0)
                continue
            # A start inside a token (a forced cut with no whitespace) moves to
            # the next token so sentences stay token-aligned.
            if token_starts[i] < sent.start:
                i += 1
            if i < n:
                flags[i, 0] = 1
                if sent.forced:
                    forced.add(i)
        # spaCy wants uint64 attribute arrays; -1 ("not a start") wraps and back.
        doc.from_array([SENT_START], flags.astype("uint64"))
        doc._.forced_splits = forced or None
        return doc
