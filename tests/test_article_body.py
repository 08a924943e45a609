"""Article bodies: tables kept as rows of cells, and the comment policy and "follow us" lines
that sites append to every article dropped (only at the end, only when short)."""

from __future__ import annotations

import tarfile
from zoneinfo import ZoneInfo

import pytest

from bench import eval_dates
from bot.news.article import extract_article, is_boilerplate, read_article_page
from bot.news.encoding import decode
from bot.news.models import ParseError
from tests import wild

ZONE = ZoneInfo("Africa/Casablanca")
TITLE = "نتائج الانتخابات الجماعية في ثلاث مدن ساحلية"
LEAD = (
    "<p>أسفرت الانتخابات الجماعية التي جرت أمس في ثلاث مدن ساحلية عن تقدم واضح للحزب الذي كان"
    " يسير المجالس المنتهية ولايتها، وسط نسبة مشاركة فاقت توقعات المراقبين المحليين.</p>"
)
CLOSE = (
    "<p>وينتظر أن تعقد المجالس الجديدة دوراتها الأولى خلال الأسبوعين المقبلين لانتخاب الرؤساء"
    " ونوابهم، بحضور ممثلي السلطات المحلية وفق ما ينص عليه القانون التنظيمي للجماعات.</p>"
)


def article(inner: str) -> list[str]:
    html = (
        f'<html lang="ar"><head><title>{TITLE}</title></head><body><article><h1>{TITLE}</h1>'
        f"{inner}</article></body></html>"
    )
    return list(extract_article(html, "https://news.example.ma/a/9", ZONE).paragraphs)


def test_a_table_keeps_its_text_as_rows_of_cells() -> None:
    table = (
        "<table><thead><tr><th>المدينة</th><th>المقاعد</th><th>نسبة المشاركة</th></tr></thead>"
        "<tbody><tr><td>مدينة الميناء</td><td>41</td><td>52%</td></tr>"
        "<tr><td>مدينة المنارة</td><td>35</td><td>47%</td></tr></tbody></table>"
    )
    paragraphs = article(LEAD + table + CLOSE)
    assert "مدينة الميناء | 41 | 52%" in paragraphs
    assert "مدينة المنارة | 35 | 47%" in paragraphs
    assert "المدينة | المقاعد | نسبة المشاركة" in paragraphs
    assert not any(set(p) <= set("|-: ") for p in paragraphs)  # no "|---|" rule
    assert paragraphs[-1].startswith("وينتظر أن تعقد")


@pytest.mark.parametrize(
    "ending",
    [
        "<p>نرحب بتعليقاتكم، ونحتفظ بحق مراجعة التعليقات قبل نشرها وحذف المسيئة منها.</p>"
        "<p>الآراء الواردة في التعليقات لا تعبر عن رأي الجريدة، بل عن وجهات نظر أصحابها.</p>",
        "<p>تابعونا على فيسبوك وتويتر وإنستغرام لمعرفة آخر المستجدات.</p>",
        "<p>لمتابعة أهم الأخبار أولا بأول، اشتركوا في قناتنا على تيليغرام.</p>",
        "<p>Suivez-nous sur Facebook et Instagram.</p>",
    ],
    ids=["comment policy", "follow us", "our channel", "suivez-nous"],
)
def test_comment_policy_and_follow_us_endings_are_dropped(ending: str) -> None:
    paragraphs = article(LEAD + CLOSE + ending)
    assert paragraphs[-1].startswith("وينتظر أن تعقد"), paragraphs[-1]
    assert len(paragraphs) == 2


def test_news_that_mentions_following_or_comments_stays() -> None:
    ending = (
        "<p>وتابعوا طريقهم نحو مقر العمالة حيث تجمع عشرات الشباب للاحتجاج على تأخر إعلان"
        " النتائج، قبل أن يتدخل ممثل السلطة المحلية لتهدئة الوضع وفتح باب الحوار معهم.</p>"
        "<p>وقال أحد المرشحين في تعليق على النتائج إن الحملة شهدت منافسة قوية.</p>"
    )
    paragraphs = article(LEAD + CLOSE + ending)
    assert paragraphs[-2].startswith("وتابعوا طريقهم")
    assert paragraphs[-1].startswith("وقال أحد المرشحين")


def test_boilerplate_in_the_middle_of_an_article_is_not_cut_from_there() -> None:
    # Only trailing lines are boilerplate: a "follow us" line followed by news is kept.
    middle = "<p>تابعونا على فيسبوك وتويتر لمعرفة آخر المستجدات.</p>"
    paragraphs = article(LEAD + middle + CLOSE)
    assert len(paragraphs) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("تابعونا على يوتيوب", True),
        ("Follow us on Twitter", True),
        ("وتابع الوزير حديثه عن مشاريع الطرق في الإقليم", False),
        ("وتابعوا حديثهم عن مشاريع الطرق في الإقليم", False),
        ("وتابعوا تطبيق القانون في الأسواق", False),
        ("تابعوا نقل الأكسجين إلى المستشفيات", False),
        ("حملوا تطبيق الجريدة على هواتفكم", True),
        ("تابعونا عبر صفحتنا الرسمية", True),
        ("الآراء الواردة أدناه لا تعبر عن رأي الموقع", True),
        ("ترفض الهيئة أي تعليق على الحكم قبل صدوره", False),
        # A long news paragraph that quotes such words is never boilerplate.
        ("قال المتحدث إن الآراء الواردة في التقرير لا تعبر عن رأي الحكومة " * 8, False),
    ],
)
def test_is_boilerplate(text: str, expected: bool) -> None:
    assert is_boilerplate(text) is expected


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        (wild.CHALLENGE, "bot challenge"),
        (wild.CAPTCHA, "bot challenge"),
        (wild.ANGULAR, "script"),
        (wild.REACT, "script"),
        (wild.REFRESH, "redirects"),
    ],
)
def test_a_challenge_or_a_shell_is_never_summarized_as_news(page: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        read_article_page(page, "https://site.ma/a/1", ZoneInfo("Africa/Casablanca"))


# -- joiners -------------------------------------------------------------------------------

ZWNJ, ZWJ = "\u200c", "\u200d"
# Persian written for this test: «می‌گویند», «قیمت‌ها», «هفته‌های» hold a zero-width non-joiner.
PERSIAN_TITLE = f"افزایش قیمت{ZWNJ}ها در بازارهای شهر"
PERSIAN = (
    f"<p>کارشناسان می{ZWNJ}گویند قیمت{ZWNJ}ها در هفته{ZWNJ}های آینده بالا خواهد رفت و"
    f" خانواده{ZWNJ}ها نگران هستند، اما فروشندگان امیدوارند بازار آرام شود.</p>"
    f"<p>مسئولان اعلام کرده{ZWNJ}اند که برنامه{ZWNJ}ای برای کنترل بازار در دست تهیه است و"
    f" به{ZWNJ}زودی اجرا می{ZWNJ}شود؛ نتیجه{ZWNJ}ی آن در ماه آینده روشن خواهد شد.</p>"
)


def persian_page(inner: str = PERSIAN) -> str:
    return (
        f'<html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>{PERSIAN_TITLE}</title>'
        f"</head><body><article><h1>{PERSIAN_TITLE}</h1>{inner}</article></body></html>"
    )


def test_the_zero_width_non_joiner_of_persian_words_is_kept_in_the_body() -> None:
    found = extract_article(persian_page(), "https://news.example.ir/a/1", ZONE)
    assert found.title == PERSIAN_TITLE
    assert "\n".join(found.paragraphs) == "\n".join(
        paragraph.removeprefix("<p>") for paragraph in PERSIAN.split("</p>") if paragraph
    )


def test_a_zero_width_joiner_is_kept_and_a_page_using_the_stand_ins_is_left_intact() -> None:
    # An emoji sequence held by ZWJ, and a page that itself writes the first stand-in letters
    # (Phags-pa): they stay what they are, and the joiners still come back.
    family = f"\U0001f468{ZWJ}\U0001f469{ZWJ}\U0001f467"
    phags_pa = "\ua840\ua841"
    inner = PERSIAN.replace("نگران هستند", f"نگران هستند {family} {phags_pa}")
    text = extract_article(persian_page(inner), None, ZONE).text
    assert family in text and phags_pa in text
    assert text.count(ZWNJ) == PERSIAN.count(ZWNJ)


def test_matching_still_drops_the_joiners() -> None:
    from bot.news.text import normalize

    assert normalize(f"می{ZWNJ}گویند") == normalize("میگویند")


@pytest.mark.skipif(not eval_dates.TARBALL.is_file(), reason=f"absent: {eval_dates.TARBALL}")
def test_a_real_persian_page_keeps_its_joiners() -> None:
    # khabaronline.ir in htmldate's test set (../shared/corpus/htmldate_test_set.tar.xz).
    with tarfile.open(eval_dates.TARBALL) as tar:
        member = tar.extractfile("pages/1523806243.html")
        assert member is not None
        html = decode(member.read())
    text = extract_article(html, None, ZONE).text
    assert text.count(ZWNJ) >= 50  # 67 on 2026-11-29; none before
    assert "اصلاح" + ZWNJ + "طلبان" in text
