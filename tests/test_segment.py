from hypothesis import given, settings, strategies as st

from pipeline.segment import MAX_SENTENCE_CHARS, split_sentences


def sentences(text):
    return [text[s.start:s.end] for s in split_sentences(text)]


def test_biomedical_names_and_abbreviations_do_not_split():
    text = ("Freund et al. (2008) injected BoNT/A (approx. 100U, i.e. 5 U per site) into C57BL/6 mice vs. "
            "saline, e.g. in the neck, and saw 0.5 mm more growth. i tried it too lol.")
    assert sentences(text) == [
        "Freund et al. (2008) injected BoNT/A (approx. 100U, i.e. 5 U per site) into C57BL/6 mice vs. saline, "
        "e.g. in the neck, and saw 0.5 mm more growth.",
        "i tried it too lol.",
    ]


def test_abbreviated_genus_does_not_end_a_sentence_but_a_lowercase_start_still_splits():
    assert sentences("Metformin made C. elegans and E. coli happy. took vitamin D. then it got worse") == [
        "Metformin made C. elegans and E. coli happy.", "took vitamin D.", "then it got worse"]


def test_lowercase_starts_emoji_and_questions_split():
    assert sentences("it works. i tried it!! did u? 😀 yes") == ["it works.", "i tried it!!", "did u?", "😀 yes"]


def test_ellipsis_inside_a_sentence_does_not_split():
    assert sentences("my alopecia areata...would it come back? no idea") == [
        "my alopecia areata...would it come back?", "no idea"]


def test_urls_keep_their_dots_and_question_marks():
    text = "see https://pubmed.ncbi.nlm.nih.gov/?term=botox+hair. Worth a read"
    assert sentences(text) == ["see https://pubmed.ncbi.nlm.nih.gov/?term=botox+hair.", "Worth a read"]


def test_bullets_are_sentences_and_hard_breaks_join_continuations():
    text = "My regimen:\n- fin 1mg daily\n- minox 5% twice a day\n\nbeen on it for\ntwo years and\nI still have hair"
    assert sentences(text) == ["My regimen:", "- fin 1mg daily", "- minox 5% twice a day",
                               "been on it for\ntwo years and\nI still have hair"]


def test_line_break_before_a_capital_starts_a_new_sentence():
    assert sentences("Thanks guys\nAnyone tried keto?") == ["Thanks guys", "Anyone tried keto?"]


def test_overlong_run_on_is_force_split_and_flagged():
    text = "word " * 100_000
    result = split_sentences(text)
    assert all(s.end - s.start <= MAX_SENTENCE_CHARS for s in result)
    assert all(s.forced for s in result)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_offsets_are_ordered_in_bounds_and_cover_every_non_space_character(text):
    result = split_sentences(text, max_chars=60)
    covered = set()
    previous_end = 0
    for s in result:
        assert 0 <= previous_end <= s.start < s.end <= len(text)
        assert text[s.start:s.end] == text[s.start:s.end].strip()
        covered.update(range(s.start, s.end))
        previous_end = s.end
    assert {i for i, c in enumerate(text) if not c.isspace()} <= covered


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["fin", "BoNT/A", "C57BL/6J", "e.g.", "vs.", "0.5mg", "...", "?", "!", ".",
                                 "\n", "\n\n", "- ", " ", "Mice", "i", "😀", "http://x.io/a.b"]), max_size=60))
def test_forum_like_token_soup_keeps_the_invariants(parts):
    text = " ".join(parts)
    result = split_sentences(text)
    assert [text[s.start:s.end] for s in result] == [t for t in (text[s.start:s.end] for s in result) if t.strip()]
    assert sum(1 for c in text if not c.isspace()) == sum(
        1 for s in result for c in text[s.start:s.end] if not c.isspace())
