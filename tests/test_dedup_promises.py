"""Same story: each guard on its own, the threshold's edge, and the story index's window.

tests/test_dedup.py measures the matcher on labelled pairs; these pin each rule so that a guard
switched off, a window edge moved or the wrong story returned fails a test (docs/TESTING.md
lists what mutation testing found unguarded). Headlines are composed for the tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapidfuzz import fuzz

from bot.news.dedup import OPPOSITES, THRESHOLD, StoryIndex, fingerprint, same_story, similarity

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


def _wording(a: str, b: str) -> float:
    """The score without any guard: what similarity() would say if the guards were off."""
    fa, fb = fingerprint(a), fingerprint(b)
    return 0.5 * fuzz.token_set_ratio(fa.text, fb.text) + 0.5 * fuzz.token_sort_ratio(
        fa.text, fb.text
    )


def test_each_guard_scores_zero_where_the_wording_alone_would_merge() -> None:
    cases = [
        # opposite words, every other word the same
        (
            "ارتفاع أسعار المحروقات في محطات الوقود ابتداء من منتصف الليل",
            "انخفاض أسعار المحروقات في محطات الوقود ابتداء من منتصف الليل",
        ),
        # the other way round: the opposite found from the second headline's side too
        (
            "انخفاض أسعار المحروقات في محطات الوقود ابتداء من منتصف الليل",
            "ارتفاع أسعار المحروقات في محطات الوقود ابتداء من منتصف الليل",
        ),
        # different numbers
        (
            "زلزال بقوة 5 درجات على سلم ريشتر يضرب إقليم الحسيمة فجر اليوم",
            "زلزال بقوة 6 درجات على سلم ريشتر يضرب إقليم الحسيمة فجر اليوم",
        ),
        # different places
        (
            "حريق مهول يأتي على عشرات المحلات في السوق الأسبوعي بمدينة فاس",
            "حريق مهول يأتي على عشرات المحلات في السوق الأسبوعي بمدينة مكناس",
        ),
    ]
    for a, b in cases:
        assert _wording(a, b) >= THRESHOLD, (a, b)  # the guard, not the wording, decides
        assert similarity(fingerprint(a), fingerprint(b)) == 0.0, (a, b)
        assert not same_story(a, b)


def test_opposites_are_known_both_ways() -> None:
    assert "انخفاض" in OPPOSITES["ارتفاع"] and "ارتفاع" in OPPOSITES["انخفاض"]
    assert {"انخفاض", "تراجع"} <= OPPOSITES["ارتفاع"]  # one word, two opposites


def test_a_guard_needs_both_sides_to_say_something() -> None:
    # A number or a place on one side only is no proof of two stories.
    a = "زلزال بقوة 5 درجات يضرب إقليم الحسيمة فجر اليوم"
    b = "زلزال بقوة درجات يضرب إقليم الحسيمة فجر اليوم"
    assert similarity(fingerprint(a), fingerprint(b)) >= THRESHOLD
    c = "حريق مهول يأتي على عشرات المحلات في السوق الأسبوعي بمدينة فاس"
    d = "حريق مهول يأتي على عشرات المحلات في السوق الأسبوعي بالمدينة"
    assert similarity(fingerprint(c), fingerprint(d)) >= THRESHOLD
    # The same numbers and places on both sides do not stop a match.
    assert same_story(a, "زلزال بقوة 5 درجات يضرب الحسيمة فجر اليوم")


def test_an_empty_headline_is_like_nothing() -> None:
    only_stopwords = fingerprint("في من على")
    assert only_stopwords.tokens == ()
    assert similarity(only_stopwords, fingerprint("حريق في سوق فاس")) == 0.0
    assert similarity(fingerprint("حريق في سوق فاس"), only_stopwords) == 0.0
    assert similarity(only_stopwords, only_stopwords) == 0.0


def test_the_threshold_is_inclusive() -> None:
    a = "حريق مهول يأتي على سوق شعبي بمدينة فاس"
    b = "حريق مهول يأتي على سوق شعبي بفاس"
    score = similarity(fingerprint(a), fingerprint(b))
    assert 0 < score < 100
    assert same_story(a, b, threshold=score)
    assert not same_story(a, b, threshold=score + 0.01)


def test_fingerprints_read_numbers_and_places() -> None:
    print_ = fingerprint("انقطاع الماء عن 007 أحياء و 0 إصابات بالدار البيضاء")
    assert print_.numbers == frozenset({"7", "0"})  # leading zeros do not make a new number
    assert len(print_.places) == 1
    # «البيضاء» alone and «Casablanca» name the same city as «الدار البيضاء».
    for other in ("أمطار في البيضاء", "pluie à Casablanca"):
        assert fingerprint(other).places == print_.places, other
    # A longer name wins over the shorter one inside it.
    assert len(fingerprint("زحام في الدار البيضاء اليوم").places) == 1
    assert fingerprint("مطر في بني ملال وفاس").places == fingerprint("فاس وبني ملال مطر").places
    assert len(fingerprint("مطر في بني ملال وفاس").places) == 2
    assert fingerprint("اجتماع").text == "اجتماع"


# -- the story index --------------------------------------------------------------------------


def test_the_closest_story_wins_and_an_added_duplicate_keeps_its_story() -> None:
    index = StoryIndex()
    index.add(1, "الحكومة تعلن رفع الحد الأدنى للأجور في القطاع الخاص", T0)
    index.add(2, "الحكومة تعلن رفع الحد الأدنى للأجور في القطاع الخاص والفلاحي", T0)
    # Closer to the second; both match.
    assert index.find("الحكومة تعلن رفع الحد الأدنى للأجور في القطاع الخاص والفلاحي", T0) == 2
    assert index.find("الحكومة تعلن رفع الحد الأدنى للأجور في القطاع الخاص", T0) == 1
    index.add(3, "هزة أرضية بقوة 5 درجات تضرب الحسيمة", T0, story_id=9)
    assert index.find("هزة أرضية بقوة 5 درجات تضرب الحسيمة ليلا", T0) == 9
    assert len(index) == 3


def test_the_window_keeps_a_headline_exactly_its_length_and_no_longer() -> None:
    index = StoryIndex(window=timedelta(hours=2))
    index.add(1, "انقطاع التيار الكهربائي عن عدة أحياء وسط المدينة", T0)
    index.add(2, "انقطاع الماء الشروب عن عدة أحياء بالمدينة القديمة", T0 + timedelta(hours=1))
    edge = T0 + timedelta(hours=2)
    assert index.find("انقطاع التيار الكهربائي عن أحياء عدة وسط المدينة", edge) == 1
    assert len(index) == 2
    after = edge + timedelta(seconds=1)
    assert index.find("انقطاع التيار الكهربائي عن أحياء عدة وسط المدينة", after) is None
    assert len(index) == 1  # the first went, the second stays and is still found
    assert index.find("انقطاع الماء الشروب عن عدة أحياء بالمدينة القديمة", after) == 2
    gone = T0 + timedelta(hours=3, seconds=1)
    assert index.find("انقطاع الماء الشروب عن عدة أحياء بالمدينة القديمة", gone) is None
    assert len(index) == 0


def test_expiry_cleans_words_shared_with_later_headlines() -> None:
    index = StoryIndex(window=timedelta(minutes=30))
    index.add(1, "إغلاق الطريق الوطنية بسبب الثلوج", T0)
    index.add(2, "الثلوج تغلق الطريق بين إفران وأزرو", T0 + timedelta(minutes=20))
    index.add(3, "إغلاق الطريق الوطنية بسبب الثلوج مجددا", T0 + timedelta(minutes=25))
    later = T0 + timedelta(minutes=40)  # the first has expired, the other two have not
    assert index.find("إغلاق الطريق الوطنية بسبب الثلوج مجددا", later) == 3
    assert index.find("الثلوج تغلق الطريق بين إفران وأزرو", later) == 2
    assert len(index) == 2


def test_a_match_needs_two_shared_words_unless_the_title_is_that_short() -> None:
    index = StoryIndex(threshold=0.0)  # wording aside: only the shared-word rule decides
    index.add(1, "عاصفة رعدية قوية", T0)
    assert index.find("عاصفة مطرية", T0) == 1  # two words: one shared is enough
    assert index.find("عاصفة ثلجية في الجبال", T0) is None  # longer: one shared is not
    assert index.find("عاصفة رعدية في الجبال", T0) == 1


def test_a_headline_sharing_no_word_with_the_window_is_new() -> None:
    index = StoryIndex()
    assert index.find("أي عنوان", T0) is None
    index.add(1, "افتتاح معرض الكتاب بالرباط", T0)
    assert index.find("مباراة كرة القدم مساء اليوم", T0) is None


def test_on_a_tie_the_earliest_story_wins() -> None:
    index = StoryIndex()
    index.add(1, "انقطاع التيار الكهربائي عن عدة أحياء وسط المدينة", T0)
    index.add(2, "انقطاع التيار الكهربائي عن عدة أحياء وسط المدينة", T0)  # told apart upstream
    assert index.find("انقطاع التيار الكهربائي عن عدة أحياء وسط المدينة", T0) == 1


def test_the_index_threshold_is_inclusive() -> None:
    a = "حريق مهول يأتي على سوق شعبي بمدينة فاس"
    b = "حريق مهول يأتي على سوق شعبي بفاس"
    index = StoryIndex(threshold=similarity(fingerprint(a), fingerprint(b)))
    index.add(1, a, T0)
    assert index.find(b, T0) == 1


def test_a_headline_repeated_after_its_first_copy_expired_is_still_found() -> None:
    """Every word's bucket still holds the later copy when the first one expires."""
    title = "إغلاق الطريق الوطنية بسبب الثلوج"
    index = StoryIndex(window=timedelta(minutes=30))
    index.add(1, title, T0)
    index.add(2, title, T0 + timedelta(minutes=20))
    assert index.find(title, T0 + timedelta(minutes=40)) == 2


def test_a_candidate_with_too_few_shared_words_does_not_end_the_search() -> None:
    index = StoryIndex()
    # Shares one rare word with the headline below: a candidate, but one word is not enough.
    index.add(1, "بركان نشط في جزيرة نائية", T0)
    # The same story as the headline below; its words also appear in a third, unrelated
    # headline (with another number), so their buckets are larger than the volcano's.
    index.add(2, "زلزال قوي يهز منطقة الريف فجر اليوم", T0)
    index.add(3, "زلزال قوي بقوة 4 يهز منطقة الريف", T0)
    assert index.find("بركان و زلزال قوي يهز منطقة الريف فجر اليوم", T0) == 2
