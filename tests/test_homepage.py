"""Reading homepages: urgent only when labelled, headlines on any layout, no garbage, linear.

Pages are composed here; every headline was written for these tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bench.bench_news import NESTED_SHAPES
from bot.news.headlines import is_article_url
from bot.news.homepage import parse_homepage
from bot.news.identity import stable_id
from bot.news.markup import bounded_nesting
from bot.news.models import Item, PageReading
from bot.news.ticker import EMPTY_BLOCK_NOTE
from tests import sites

BASE = "https://site.ma/"
BAR = [
    ("/2026/11/29/fire-port", "حريق في مستودع بالميناء التجاري"),
    ("/news/771201", "انقطاع الماء عن ثلاثة أحياء بالمدينة القديمة"),
]
STORIES = [
    ("/news/771150", "افتتاح قاعة رياضية جديدة في حي النهضة"),
    ("/news/771140", "المجلس الجماعي يصادق على برنامج تهيئة الشاطئ"),
]


def page(body: str) -> str:
    return (
        '<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"></head><body>'
        f"{body}</body></html>"
    )


def links(items: list[tuple[str, str]], wrap: str = "li") -> str:
    return "".join(f'<{wrap}><a href="{u}">{t}</a></{wrap}>' for u, t in items)


def stories() -> str:
    return "".join(f'<article><h2><a href="{u}">{t}</a></h2></article>' for u, t in STORIES)


def read(body: str, **selectors: str) -> PageReading:
    return parse_homepage(page(body), "site", BASE, **selectors)


def urgent(reading: PageReading) -> list[Item]:
    return [i for i in reading.items if i.urgent]


def titles(items: list[Item]) -> list[str]:
    return [i.title for i in items]


BAR_TITLES = [t for _, t in BAR]
STORY_TITLES = [t for _, t in STORIES]


# -- urgent means labelled urgent ----------------------------------------------------------


@pytest.mark.parametrize("label", sites.URGENT_LABELS)
def test_a_block_introduced_by_an_urgent_label_is_urgent(label: str) -> None:
    reading = read(
        f'<div class="x9"><strong>{label}</strong><ul>{links(BAR)}</ul></div>{stories()}'
    )
    assert titles(urgent(reading)) == BAR_TITLES
    assert all(i.from_ticker for i in urgent(reading))
    assert [i.url for i in urgent(reading)] == [BASE.rstrip("/") + u for u, _ in BAR]
    assert titles([i for i in reading.items if not i.urgent]) == STORY_TITLES
    assert reading.urgent_block == f"div.x9 labelled «{label}»"


def test_an_urgent_label_in_a_data_attribute_or_an_image_alt() -> None:
    data = read(
        f'<ul class="b-news">{links(BAR, "li data-list=عاجل")}</ul>'.replace(
            "</li data-list=عاجل>", "</li>"
        )
    )
    assert titles(urgent(data)) == BAR_TITLES
    assert data.urgent_block is not None and "(data-list)" in data.urgent_block
    alt = read(
        f'<div class="k1"><img src="/i.png" alt="خبر عاجل"><p>{links(BAR, "span")}</p></div>'
    )
    assert titles(urgent(alt)) == BAR_TITLES
    assert alt.urgent_block == "div.k1 labelled «خبر عاجل» (image alt)"


@pytest.mark.parametrize("label", sites.HEADLINE_LABELS)
def test_latest_most_read_and_news_strips_are_headlines(label: str) -> None:
    # Named like a ticker, labelled as something else: headlines, never urgent.
    reading = read(
        f'<div id="tie-breaking" class="breaking-news ticker"><span class="breaking-title">'
        f"{label}</span><ul>{links(BAR)}</ul></div>{stories()}"
    )
    assert urgent(reading) == []
    assert reading.urgent_block is None
    assert titles(reading.items) == BAR_TITLES + STORY_TITLES


@pytest.mark.parametrize(
    "markup",
    [
        '<div class="ticker">{}</div>',
        '<div class="breaking-news"><ul>{}</ul></div>',
        '<div class="td-trending-now-wrapper">{}</div>',
        '<div class="news-bar">{}</div>',
        "<marquee>{}</marquee>",
    ],
)
def test_a_class_name_alone_makes_nothing_urgent(markup: str) -> None:
    reading = read(markup.format(links(BAR, "span")) + stories())
    assert urgent(reading) == []
    assert reading.urgent_block is None
    assert titles(reading.items) == BAR_TITLES + STORY_TITLES  # still headlines


def test_the_ticker_selector_makes_its_block_urgent_whatever_its_label() -> None:
    body = f'<section class="top-strip-77">{links(BAR, "span")}</section>{stories()}'
    reading = read(body, ticker_selector=".top-strip-77")
    assert titles(urgent(reading)) == BAR_TITLES
    assert reading.urgent_block == 'ticker_selector ".top-strip-77"'
    assert titles([i for i in reading.items if not i.urgent]) == STORY_TITLES


def test_a_ticker_selector_on_a_text_only_bar() -> None:
    reading = read(
        '<section class="strip-9"><span>تعليق الدراسة في ثلاث جماعات قروية</span>'
        "<span>فتح الطريق الساحلية أمام حركة السير</span></section>",
        ticker_selector=".strip-9",
    )
    assert titles(urgent(reading)) == [
        "تعليق الدراسة في ثلاث جماعات قروية",
        "فتح الطريق الساحلية أمام حركة السير",
    ]


def test_an_urgent_badge_above_an_article_introduces_nothing_below_it() -> None:
    # A category badge «عاجل» over an article: its paragraphs and the related links far
    # below are not an urgent bar.
    paragraph = (
        "<p>" + "عقد المجلس دورته العادية وناقش عدة نقاط تخص الميزانية والنقل. " * 3 + "</p>"
    )
    reading = read(
        f'<div class="post"><div class="body"><span class="cat">عاجل</span><h1>عنوان المقال</h1>'
        f'{paragraph * 12}</div><ul class="related">{links(BAR)}</ul></div>'
    )
    assert urgent(reading) == []
    assert reading.notes == ()
    assert titles(reading.items) == BAR_TITLES


def test_a_ticker_selector_that_matches_nothing_is_noted() -> None:
    reading = read(stories(), ticker_selector="#no-such-bar")
    assert urgent(reading) == []
    assert reading.notes == ('ticker_selector "#no-such-bar" matches nothing in the page',)
    assert titles(reading.items) == STORY_TITLES


def test_a_text_only_bar_gives_urgent_items_with_the_site_url_and_ids_of_their_own() -> None:
    reading = read(
        '<div class="breaking"><span>عاجل</span><ul><li>زلزال بقوة خمس درجات يضرب الإقليم</li>'
        "<li>تعليق الرحلات البحرية نحو الجزيرة</li></ul></div>"
    )
    items = urgent(reading)
    assert titles(items) == [
        "زلزال بقوة خمس درجات يضرب الإقليم",
        "تعليق الرحلات البحرية نحو الجزيرة",
    ]
    assert [i.url for i in items] == [BASE, BASE]
    assert len({i.uid for i in items}) == 2
    assert reading.urgent_block == "div.breaking labelled «عاجل»"


def test_scripts_and_styles_in_an_urgent_bar_are_not_its_entries_text() -> None:
    # What a reader sees of the bar: an inline script's code or a style sheet is none of it.
    reading = read(
        '<div class="breaking"><span>عاجل</span><ul><li>زلزال بقوة خمس درجات يضرب الإقليم'
        '<script>var bar = "alert";</script></li><li><style>.x{color:red}</style>'
        "تعليق الرحلات البحرية نحو الجزيرة<template>قالب</template></li></ul></div>"
        f"{stories()}"
    )
    assert titles(urgent(reading)) == [
        "زلزال بقوة خمس درجات يضرب الإقليم",
        "تعليق الرحلات البحرية نحو الجزيرة",
    ]
    assert titles(reading.items)[2:] == STORY_TITLES


def test_javascript_links_in_an_urgent_bar_keep_their_entries() -> None:
    reading = read(
        '<div class="alerts"><b>عاجل</b><a href="javascript:void(0)">إغلاق الطريق الوطنية رقم '
        'اثنين</a><a href="#">هطول أمطار رعدية على المناطق الشمالية</a></div>'
    )
    items = urgent(reading)
    assert titles(items) == [
        "إغلاق الطريق الوطنية رقم اثنين",
        "هطول أمطار رعدية على المناطق الشمالية",
    ]
    assert {i.url for i in items} == {BASE}
    assert len({i.uid for i in items}) == 2


def test_an_urgent_block_left_empty_for_a_script_is_noted() -> None:
    # kifache: div.urgent > span.urgent-title «عاجل» + div.dataAlter, filled over a websocket.
    reading = read(
        '<div class="urgent"><span class="urgent-title">عاجل</span><div class="dataAlter">'
        f'</div><span class="urgent-close"><i class="fa"></i></span></div>{stories()}'
    )
    assert urgent(reading) == []
    assert reading.notes == (EMPTY_BLOCK_NOTE,)
    assert reading.urgent_block == "div.urgent labelled «عاجل»"
    assert titles(reading.items) == STORY_TITLES
    # A full urgent block, or a page without one, has no such note.
    assert read(f'<div class="urgent"><span>عاجل</span>{links(BAR, "p")}</div>').notes == ()
    assert read(stories()).notes == ()


def test_a_navigation_link_to_an_urgent_section_is_no_label() -> None:
    reading = read(
        '<ul class="top"><li><a href="/section/urgent"><h2>عاجل</h2></a></li>'
        f'<li><a href="/section/sport">رياضة</a></li></ul><div class="ticker">{links(BAR)}</div>'
    )
    assert urgent(reading) == []


def test_title_markers_make_headlines_urgent_and_are_removed() -> None:
    reading = read(
        '<h3><a href="/news/9001">عاجل. سقوط أمطار غزيرة على الرباط</a></h3>'
        '<h3><a href="/news/9002">(عاجل) إجلاء سكان عمارة آيلة للسقوط</a></h3>'
        '<h3><a href="/news/9003">الحكومة تعلن دعما عاجلا للفلاحين</a></h3>'
        '<h3><a href="/news/9004">بيان عاجل من الولاية حول الطرق</a></h3>'
    )
    assert [(i.title, i.urgent) for i in reading.items] == [
        ("سقوط أمطار غزيرة على الرباط", True),
        ("إجلاء سكان عمارة آيلة للسقوط", True),
        ("الحكومة تعلن دعما عاجلا للفلاحين", False),
        ("بيان عاجل من الولاية حول الطرق", False),
    ]
    assert not any(i.from_ticker for i in reading.items)


# -- headlines on any layout ---------------------------------------------------------------


def test_empty_card_anchors_beside_title_spans() -> None:
    cards = "".join(
        f'<li><div class="img-holder"><img></div><div class="data"><span class="slider-item-cat">'
        f'<a href="javascript:void(0);">سياسة</a></span><span class="slider-item-title">{t}</span>'
        f'<span class="slider-item-date">29 نونبر 2026</span></div>'
        f'<a href="https://site.ma/{7700 + n}" class="link"></a></li>'
        for n, t in enumerate(BAR_TITLES + STORY_TITLES)
    )
    reading = read(
        f'<div class="section"><span class="title">منوعات المدينة</span><ul>{cards}</ul></div>'
    )
    assert titles(reading.items) == BAR_TITLES + STORY_TITLES
    assert [i.url for i in reading.items] == [f"https://site.ma/{7700 + n}" for n in range(4)]
    assert not any(i.urgent for i in reading.items)


def test_lists_of_title_links() -> None:
    reading = read(
        "<ul>"
        + "".join(
            f'<li><a class="img_holder" href="/{8800 + n}.html"><img></a>'
            f'<a class="post_link" href="/{8800 + n}.html">{t}</a>'
            f'<span><a href="/author/karim">كريم</a></span></li>'
            for n, t in enumerate(STORY_TITLES)
        )
        + "</ul>"
    )
    assert titles(reading.items) == STORY_TITLES
    assert [i.url for i in reading.items] == [
        "https://site.ma/8800.html",
        "https://site.ma/8801.html",
    ]


def test_an_article_linked_twice_keeps_its_full_title_and_its_first_place() -> None:
    # A video strip's teaser cut short by the theme, then the same article in a latest-news
    # list with its whole title (alyaoum24's a.video_text and «آخر الأخبار»).
    cut = "سقوط شبكة لتهريب المهاجرين في قبضة الشر..."
    full = "سقوط شبكة لتهريب المهاجرين في قبضة الشرطة بميناء طنجة المتوسط"
    other = "ارتفاع منسوب السدود بعد التساقطات المطرية الأخيرة"
    reading = read(
        f'<ul class="videos"><li><a class="video_img" href="/9901.html"><img></a>'
        f'<a class="video_text" href="/9901.html">{cut}</a></li></ul>'
        f'<ul class="latest"><li><a href="/9902.html">{other}</a></li>'
        f'<li><a href="/9901.html">{full}</a></li></ul>'
    )
    assert titles(reading.items) == [full, other]


def test_a_headings_link_beats_another_text_for_the_same_article() -> None:
    teaser = "بلاغ جديد من السلطات المحلية بخصوص الطريق الساحلية اقرأ التفاصيل"
    heading = "إغلاق مؤقت للطريق الساحلية بسبب الأشغال"
    reading = read(
        f'<div class="teaser"><a href="/news/771300">{teaser}</a></div>'
        f'<article><h2><a href="/news/771300">{heading}</a></h2></article>'
    )
    assert titles(reading.items) == [heading]


def test_an_article_cut_short_everywhere_keeps_the_text_it_has() -> None:
    # «..» joins a headline's parts: no cut. A page with only the cut text still lists it.
    reading = read(
        '<ul><li><a href="/9903.html">حصيلة الموسم الفلاحي..</a></li>'
        '<li><a href="/9904.html">المجلس يصادق على ميزانية السنة المقب…</a></li>'
        '<li><a href="/9903.html">حصيلة الموسم الفلاحي.. أرقام</a></li></ul>'
    )
    assert titles(reading.items) == [
        "حصيلة الموسم الفلاحي..",
        "المجلس يصادق على ميزانية السنة المقب…",
    ]


# -- the time a card shows -----------------------------------------------------------------

# 09:30 UTC on 29 November 2026: 10:30 in Casablanca (UTC+01 outside Ramadan).
CLOCK = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)
CASABLANCA = ZoneInfo("Africa/Casablanca")


def timed(body: str, now: datetime | None = CLOCK) -> dict[str, datetime | None]:
    reading = parse_homepage(page(body), "site", BASE, tz=CASABLANCA, now=now)
    return {i.url.rsplit("/", 1)[-1]: i.published for i in reading.items if i.url}


def test_cards_give_their_items_the_time_they_show() -> None:
    found = timed(
        # A relative time, a dual, a dateline beside an empty card link, a <time datetime>.
        '<ul><li><a href="/news/771401">وصول أولى قوافل المساعدات إلى القرى المعزولة</a>'
        '<span class="post-date">منذ 5 دقائق</span></li>'
        '<li><a href="/news/771402">تأجيل مباراة الديربي بسبب الأحوال الجوية</a>'
        "<span>قبل ساعتين</span></li></ul>"
        '<div class="card"><div class="data"><span class="card-title">افتتاح المعرض الجهوي '
        'للكتاب بمدينة وجدة</span><span class="card-date">الأحد 29 نونبر 2026 على الساعة 08:15'
        '</span></div><a class="link" href="/news/771403"></a></div>'
        '<article><h2><a href="/news/771404">توقيف شبكة للنصب عبر الإنترنت في فاس</a></h2>'
        '<time datetime="2026-11-29T07:45:00+01:00">قبل قليل</time></article>'
    )
    assert found == {
        "771401": CLOCK - timedelta(minutes=5),
        "771402": CLOCK - timedelta(hours=2),
        "771403": datetime(2026, 11, 29, 7, 15, tzinfo=UTC),
        "771404": datetime(2026, 11, 29, 6, 45, tzinfo=UTC),
    }


def test_a_latest_news_list_of_clocks_alone_reads_them_as_the_sites_last_day() -> None:
    # The image link comes first and its card has no time; the list further down has it.
    found = timed(
        '<div class="slider"><a class="img_holder" href="/771501.html"><img></a>'
        '<a class="post_link" href="/771501.html">حملة تلقيح واسعة في المدارس الابتدائية</a></div>'
        '<div class="last_news"><span>آخر الأخبار</span><ul>'
        '<li><span class="time">10:12</span><div><a href="/771501.html">حملة تلقيح واسعة في '
        "المدارس الابتدائية</a></div></li>"
        '<li><span class="time">23:40</span><div><a href="/771502.html">ارتفاع أسعار الخضر في '
        "أسواق الجملة</a></div></li></ul></div>"
    )
    assert found == {
        "771501.html": datetime(2026, 11, 29, 9, 12, tzinfo=UTC),
        "771502.html": datetime(2026, 11, 28, 22, 40, tzinfo=UTC),  # yesterday's 23:40
    }


def test_a_time_is_never_taken_from_another_articles_card() -> None:
    found = timed(
        '<ul class="list"><li><a href="/news/771601">انطلاق الموسم الفلاحي في سهل سايس</a></li>'
        '<li><a href="/news/771602">تدشين محطة جديدة لتحلية مياه البحر</a>'
        '<span class="date">منذ 3 ساعات</span></li></ul>'
        # Not a publication time: an update, prayer times, a clock in running text.
        '<div><a href="/news/771603">لقاء تواصلي حول التشغيل الذاتي للشباب</a>'
        '<span class="updated">منذ دقيقتين</span><span class="prayer-time">12:58</span>'
        "<span>الساعة 10:00</span></div>"
    )
    assert found == {
        "771601": None,
        "771602": CLOCK - timedelta(hours=3),
        "771603": None,
    }


def test_without_the_polls_time_only_absolute_times_are_read() -> None:
    body = (
        '<ul><li><a href="/news/771701">إطلاق خط جديد للحافلات بين الرباط وسلا</a>'
        '<span class="time">منذ 7 دقائق</span></li>'
        '<li><a href="/news/771702">تساقطات ثلجية مرتقبة بالمرتفعات</a>'
        '<span class="time">09:40</span></li>'
        '<li><a href="/news/771703">اختتام الدورة التكوينية لفائدة الأطر الصحية</a>'
        '<span class="date">28/11/2026</span></li></ul>'
    )
    assert timed(body, now=None) == {
        "771701": None,
        "771702": None,
        "771703": datetime(2026, 11, 27, 23, 0, tzinfo=UTC),  # midnight in Casablanca
    }
    # And without the source's zone, nothing is dated.
    assert all(i.published is None for i in read(body).items)


def test_an_anchor_around_a_card_takes_its_heading() -> None:
    reading = read(
        '<a class="card" href="/2026/11/29/port-fire"><img src="/p.jpg"><h3>حريق محدود في مستودع '
        "بالميناء</h3><p>اندلع الحريق صباح اليوم وتدخلت فرق الوقاية المدنية بسرعة وتمت السيطرة "
        "عليه دون خسائر في الأرواح حسب مصادر محلية.</p></a>"
    )
    assert titles(reading.items) == ["حريق محدود في مستودع بالميناء"]


GARBAGE = (
    '<nav><a href="/news/5001">الصفحة الرئيسية للموقع الإخباري</a></nav>'
    '<ul class="menu"><li><a href="/category/sport/5002">أخبار الرياضة الوطنية</a></li></ul>'
    '<a href="/category/politique">أخبار السياسة المحلية</a>'
    '<a href="/tag/elections-2026">الانتخابات الجماعية المقبلة</a>'
    '<a href="/author/karim-b">كريم بناني محرر الموقع</a>'
    '<a href="/page/2">الصفحة الثانية من الأخبار</a>'
    '<a href="/2026/11/">أرشيف شهر نونبر الماضي</a>'
    '<div class="share"><a href="/share/5003">شارك الخبر على فيسبوك</a></div>'
    '<a href="https://facebook.com/sharer.php?u=/news/5004">شارك المقال مع الأصدقاء</a>'
    '<a href="/">موقع المدينة: الخبر اليقين في كل حين</a>'
    '<a href="/news/5005">سياسة الخصوصية وشروط الاستخدام</a>'
    '<a href="/news/5006">اقرأ المزيد</a>'
    '<a href="/edition/20261129">جريدة المدينة بتاريخ 2026/11/29</a>'
    '<p>قال المتحدث إن <a href="/news/5007">الاجتماع الأخير للمجلس</a> لم يخرج بقرارات واضحة '
    "بشأن الميزانية، وإن النقاش سيستمر خلال الدورة المقبلة بحضور جميع الأعضاء المعنيين.</p>"
    '<div class="post-tags"><a href="/news/5008">وسم الانتخابات الجماعية</a></div>'
    '<footer><a href="/news/5009">© جميع الحقوق محفوظة لموقع المدينة</a></footer>'
)


def test_garbage_links_are_refused() -> None:
    reading = read(GARBAGE + stories())
    assert titles(reading.items) == STORY_TITLES


@pytest.mark.parametrize(
    ("url", "article"),
    [
        ("https://site.ma/331535", True),
        ("https://site.ma/1052865.html", True),
        ("https://site.ma/2019/07/some-slug/", True),
        ("https://site.ma/2020/11/2338761/", True),
        ("https://site.ma/story/2020/8/24/slug/4943459", True),
        ("https://site.ma/across/2020-06-03-1.3874341", True),
        ("https://site.ma/videos/أشهر-لعبة-في-العالم-بالمغرب", True),
        ("https://site.ma/?p=1234", True),
        ("https://site.ma/", False),
        ("https://site.ma/2020/11/", False),
        ("https://site.ma/Section/أخبار-عاجلة/65/1", False),
        ("https://site.ma/category/رياضة", False),
        ("https://site.ma/tags/keyword_3cc9b1d6", False),
        ("https://site.ma/job/121984.html", False),
        ("https://site.ma/news/sport", False),
        ("https://site.ma/img/2026/photo-of-the-day-big.jpg", False),
    ],
)
def test_article_shaped_urls(url: str, article: bool) -> None:
    assert is_article_url(url) is article


# -- identity of text-only entries ----------------------------------------------------------


def test_front_page_urls_name_no_item() -> None:
    one = stable_id("s", "https://site.ma/", None, "زلزال بقوة خمس درجات يضرب الإقليم")
    two = stable_id("s", "https://site.ma", None, "تعليق الرحلات البحرية نحو الجزيرة")
    assert one != two and one.startswith("title:s:")
    assert one == stable_id(
        "s", "https://www.site.ma/index.html", None, "زلزال بقوة خمس درجات يضرب الإقليم"
    )
    assert stable_id("s", "https://site.ma/news/1", None, "x") == "url:site.ma/news/1"
    assert stable_id("s", "https://site.ma/?p=7", None, "x") == "url:site.ma/?p=7"


# -- linear in the page's size -------------------------------------------------------------

# The benchmark's shapes (bench/bench_news.py, figures in docs/BENCHMARKS.md): 100,000 nested
# divs, list items, anchors in bold, spans with links, unclosed divs with card links.
DEEP = NESTED_SHAPES


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_deeply_nested_pages_are_read(shape: str) -> None:
    # Before bounded nesting, 20,000 nested <li> alone took lexbor 5.4 s (quadratic).
    # No timing assertion (shared machines): the test completing is the check, and what
    # follows the deep part is still read.
    reading = read(DEEP[shape] + '<h2><a href="/news/424242">خبر بعد الصفحة العميقة جدا</a></h2>')
    assert "خبر بعد الصفحة العميقة جدا" in titles(reading.items)


def test_bounded_nesting_keeps_ordinary_pages_and_the_text_of_deep_ones() -> None:
    ordinary = page(stories() * 2000)
    assert bounded_nesting(ordinary) is ordinary
    deep = "<div>" * 5000 + "نص عميق" + "</div>" * 5000
    bounded = bounded_nesting(deep, max_depth=100)
    assert "نص عميق" in bounded
    assert bounded.count("<div>") == 100 and bounded.count("</div>") == 100
    # Tags inside scripts and comments are not counted.
    script = "<script>" + "'<div>'+" * 5000 + "</script><!--" + "<div>" * 5000 + "-->"
    assert bounded_nesting(script * 2, max_depth=100) == script * 2


def test_a_card_filed_under_an_urgent_tag_or_category_is_urgent() -> None:
    page = (
        "<html><body><nav><a href='/category/عاجل/'>عاجل</a><a href='/category/رياضة/'>رياضة</a>"
        "</nav><main>"
        "<article><h2><a href='/2026/11/29/flood-closes-coastal-road'>فيضان يغلق الطريق الساحلية"
        " بين المدينتين</a></h2><a rel='tag' href='/tag/عاجل/'>عاجل</a></article>"
        "<article><h2><a href='/2026/11/29/local-team-wins-cup'>الفريق المحلي يفوز بكأس الجهة بعد"
        " مباراة مثيرة</a></h2><a rel='category' href='/category/رياضة/'>رياضة</a></article>"
        "<article><h2><a href='/2026/11/29/new-library-opens'>افتتاح مكتبة جديدة في حي الأمل"
        " الشعبي</a></h2><a href='/category/عاجل/'>عاجل</a></article>"
        "</main></body></html>"
    )
    items = {i.url.rsplit("/", 1)[-1]: i.urgent for i in parse_homepage(page, "s", BASE).items}
    assert items == {
        "flood-closes-coastal-road": True,  # rel=tag «عاجل»
        "local-team-wins-cup": False,
        "new-library-opens": True,  # its category link «عاجل»
    }


def test_a_text_only_bar_of_mixed_elements_gives_one_entry_each() -> None:
    page = (
        "<html><body><div class='urgent'><span class='urgent-title'>عاجل</span>"
        "<div class='dataAlter'><p>توقف حركة القطارات بين المدينتين بسبب عطل</p>"
        "<span>انقطاع التيار الكهربائي عن الحي الصناعي صباح اليوم</span></div></div>"
        "</body></html>"
    )
    entries = [i.title for i in parse_homepage(page, "s", BASE).items if i.urgent]
    assert entries == [
        "توقف حركة القطارات بين المدينتين بسبب عطل",
        "انقطاع التيار الكهربائي عن الحي الصناعي صباح اليوم",
    ]
