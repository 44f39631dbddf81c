import pytest

from pipeline.abbreviation import find_abbreviations, find_best_long_form
from pipeline.entities import Lexicon


def ents(nlp, text):
    return [(e.text, e.label_) for e in nlp(text).ents]


@pytest.mark.parametrize("text, token", [
    ("injected BoNT/A twice", "BoNT/A"),
    ("C57BL/6J mice", "C57BL/6J"),
    ("B6×129Sv hybrids", "B6×129Sv"),
    ("15 pg/mouse daily", "pg/mouse"),
    ("minox 5% foam", "5%"),
    ("BALB/c and C3H/HeJ.", "C3H/HeJ"),
])
def test_tokenizer_keeps_biomedical_tokens_whole(entity_nlp, text, token):
    assert token in [t.text for t in entity_nlp.make_doc(text)]


def test_tokenizer_splits_regimens_glued_with_plus(entity_nlp):
    words = [t.text for t in entity_nlp.make_doc("fin+minox for 2 yrs, CD8+ cells")]
    assert words[:3] == ["fin", "+", "minox"]
    assert "CD8" in words  # a trailing "+" still comes off as before


def test_abbreviated_genus_matches_as_written(entity_nlp):
    for text in ("C. acnes resistance keeps creeping up", "what even is c. acnes"):
        assert ("SPECIES" in [e.label_ for e in entity_nlp(text).ents]), text


def test_lexicon_matches_any_case_and_links_canonical_and_mesh(entity_nlp):
    doc = entity_nlp("BOTOX vs botox vs Botox for AGA")
    treatments = [e for e in doc.ents if e.label_ == "TREATMENT"]
    assert [e.text for e in treatments] == ["BOTOX", "botox", "Botox"]
    assert {e._.canonical for e in treatments} == {"botulinum toxin type A"}
    assert {e._.ontology_id for e in treatments} == {"MESH:D019274"}
    assert ("AGA", "CONDITION") in [(e.text, e.label_) for e in doc.ents]


def test_short_uppercase_forms_match_only_as_written(entity_nlp):
    assert ("AA", "CONDITION") in ents(entity_nlp, "my son has AA patches")
    assert not [e for e in entity_nlp("aa meeting tonight").ents if e.label_ == "CONDITION"]


@pytest.mark.parametrize("text, span", [
    ("we gave 15 pg/mouse of toxin", "15 pg/mouse"),
    ("been on fin 0.5mg twice a week", "0.5mg twice a week"),
    ("dosed at 10 µg/kg", "10 µg/kg"),
    ("she used 100U in the scalp", "100U"),
    ("apply minox 2x daily", "2x daily"),
    ("minoxidil 5% foam", "5%"),
    ("switched from Adderall 20 to Vyvanse 50", "50"),
    ("20 minutes a day with the laser cap", "20 minutes a day"),
    ("keto shampoo every week", "every week"),
    ("rats got testosterone propionate 3 mg/kg/day", "3 mg/kg/day"),
    ("rapamycin at 14 ppm in chow", "14 ppm"),
    # an amount and its schedule found by different patterns are one span
    ("been on fin 1mg ED for 2 yrs", "1mg ED"),
    ("Lyrica 150 twice a day made me drunk", "150 twice a day"),
    ("metformin 500mg in the mornings", "500mg in the mornings"),
])
def test_dose_shapes_are_found(entity_nlp, text, span):
    assert (span, "DOSE") in ents(entity_nlp, text)


def test_result_percentages_and_bare_schedules_without_a_treatment_are_not_doses(entity_nlp):
    assert not [e for e in entity_nlp("density went up about 10% at week 24").ents if e.label_ == "DOSE"]
    assert not [e for e in entity_nlp("my daily walk helps").ents if e.label_ == "DOSE"]


@pytest.mark.parametrize("strain", ["C57BL/6J", "C3H/HeJ", "BALB/c", "B6×129Sv", "DBA/2J", "FVB/NJ", "NOD/ShiLtJ"])
def test_strain_shapes_including_unseen_substrains(entity_nlp, strain):
    assert (strain, "STRAIN") in ents(entity_nlp, f"{strain} mice were shaved on day 0.")


def test_molecule_is_chemical_when_measured_and_treatment_when_taken(entity_nlp):
    assert ("melatonin", "CHEMICAL") in ents(entity_nlp, "melatonin levels drop with age")
    assert ("melatonin", "TREATMENT") in ents(entity_nlp, "i take melatonin at night")


def test_schwartz_hearst_long_form_search():
    assert find_best_long_form("BoNT/A", "injected botulinum neurotoxin serotype A") == len("injected ")
    assert find_best_long_form("XYZ", "nothing relevant here") is None
    text = "We used botulinum neurotoxin serotype A (BoNT/A) in mice."
    (abbr,) = find_abbreviations(text)
    assert text[abbr.long_start:abbr.long_end] == "botulinum neurotoxin serotype A"
    assert text[abbr.short_start:abbr.short_end] == "BoNT/A"


def test_abbreviation_spreads_type_and_canonical_to_later_mentions(entity_nlp):
    doc = entity_nlp("Dermal papilla cells secrete prostaglandin D2 synthase (PTGDS) in balding scalp. "
                     "Later, PTGDS went up again.")
    found = [(e.text, e.label_) for e in doc.ents]
    assert found.count(("PTGDS", "CHEMICAL")) == 2
    doc = entity_nlp("We injected hair-cycle modulating peptide zeta (HCMPZ), a treatment. HCMPZ worked.")
    # neither form is in the lexicon: nothing to spread
    assert "HCMPZ" not in [e.text for e in doc.ents]
    doc = entity_nlp("Patients got botulinum neurotoxin serotype A (BoNT/A). Two weeks later BoNT/A again.")
    shorts = [e for e in doc.ents if e.text == "BoNT/A"]
    assert len(shorts) == 2 and all(e.label_ == "TREATMENT" for e in shorts)
    assert shorts[0]._.long_form == "botulinum neurotoxin serotype A"
    assert shorts[1]._.canonical == "botulinum toxin type A"


def test_invented_abbreviation_of_a_known_long_form_is_tagged(entity_nlp):
    doc = entity_nlp("Patients received onabotulinumtoxinA (OBTA) into the frontalis, and OBTA again at week 12.")
    tagged = [(e.text, e.label_) for e in doc.ents]
    assert tagged.count(("OBTA", "TREATMENT")) == 2
    assert [e._.canonical for e in doc.ents if e.text == "OBTA"] == ["botulinum toxin type A"] * 2


def test_entities_never_cross_sentences(entity_nlp):
    doc = entity_nlp("I lost my hair. Loss of appetite too.")
    for ent in doc.ents:
        assert ent.sent.start <= ent.start and ent.end <= ent.sent.end


def test_lexicon_file_is_valid(tmp_path):
    from tests.conftest import ROOT

    lexicon = Lexicon.from_jsonl(ROOT / "corpus" / "lexicon.jsonl")
    assert len(lexicon.entries) > 50
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "type": "DRUG", "forms": ["x"]}\n')
    with pytest.raises(ValueError, match="unknown entity type"):
        Lexicon.from_jsonl(bad)


def test_span_features_see_the_rule_verdict_and_the_neighbours(entity_nlp):
    from pipeline.entities import span_features

    doc = entity_nlp("my estradiol levels dropped")
    tagger = entity_nlp.get_pipe("claimtag_entities")
    spans, keeps, treatment_tokens = tagger.rule_candidates(doc)
    (span,) = [s for s in spans if s.text == "estradiol"]
    features = span_features(span, True, treatment_tokens)
    assert features["rule_keeps"] == 1.0
    assert features["left1=my"] == features["right1=levels"] == features["text=estradiol"] == 1.0
    assert span_features(span, False, treatment_tokens)["rule_keeps"] == 0.0


def test_span_typer_learns_a_convention_the_rules_do_not_know(entity_nlp):
    """Fitted on a handful of sentences, the typer overrides rule verdicts in the learned contexts."""
    from pipeline.train import span_typer_examples
    from pipeline.entities import build_span_typer

    def rec(text, *ents):
        out = []
        for surface, label in ents:
            start = text.index(surface)
            out.append([start, start + len(surface), label])
        return {"text": text, "entities": out}

    records = [
        rec("my estradiol went up on the new dose", ("estradiol", "CHEMICAL")),
        rec("her estradiol went down after the patch", ("estradiol", "CHEMICAL")),
        rec("his estradiol went sky high", ("estradiol", "CHEMICAL")),
        rec("i kept rubbing estradiol gel on my arm", ("estradiol", "TREATMENT")),
        rec("she is rubbing estradiol on her thighs", ("estradiol", "TREATMENT")),
        rec("we were rubbing estradiol twice", ("estradiol", "TREATMENT")),
    ]
    X, y, _ = span_typer_examples(entity_nlp, records)
    tagger = entity_nlp.get_pipe("claimtag_entities")
    # what the rules say on their own
    assert dict(ents(entity_nlp, "he was rubbing estradiol")) == {"estradiol": "CHEMICAL"}
    try:
        tagger.typer = build_span_typer().fit(X, y)
        assert dict(ents(entity_nlp, "he was rubbing estradiol")) == {"estradiol": "TREATMENT"}
        assert dict(ents(entity_nlp, "your estradiol went up")) == {"estradiol": "CHEMICAL"}
        docs = list(entity_nlp.pipe(["your estradiol went up", "he was rubbing estradiol"], batch_size=2))
        assert [d.ents[0].label_ for d in docs] == ["CHEMICAL", "TREATMENT"]
    finally:
        tagger.typer = None


def test_shipped_model_uses_its_span_typer(nlp):
    from pipeline.model import PROJECT_MODELS, ModelFiles

    card = ModelFiles(PROJECT_MODELS).read_card()
    tagger = nlp.get_pipe("claimtag_entities")
    assert (tagger.typer is not None) == bool(card.get("span_typer_sha256"))


def test_capitalisation_that_changes_tokens_still_matches(entity_nlp):
    cases = {"St. John's wort did nothing for my mood": "St. John's wort",
             "ST. JOHN'S WORT did nothing": "ST. JOHN'S WORT",
             "Uropathogenic E. coli again": "Uropathogenic E. coli",
             "C. acnes resistance keeps creeping up": "C. acnes"}
    for text, name in cases.items():
        assert name in [e.text for e in entity_nlp(text).ents], text


def test_dose_spans_leave_qualifiers_out_and_keep_written_schedules_in(entity_nlp):
    assert ("300 mg", "DOSE") in ents(entity_nlp, "I take about 300 mg of magnesium glycinate")
    assert ("850 mg two times in the day", "DOSE") in ents(entity_nlp, "metformin 850 mg two times in the day")
    assert ("500mg with dinner", "DOSE") in ents(entity_nlp, "niacin 500mg with dinner since june")
    assert ("100 mg on alternate days", "DOSE") in ents(entity_nlp, "spironolactone 100 mg on alternate days")
