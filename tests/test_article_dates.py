"""An article page's published time as real pages give it: metadata with local or UTC offsets,
the dateline beside the title (not the logo, not the header's «today»), "read also" boxes left
out, numeric dates in the page's order, and htmldate's day when nothing else says it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from selectolax.lexbor import LexborHTMLParser

from bot.news.article import extract_article, published_time

CASABLANCA = ZoneInfo("Africa/Casablanca")
CAIRO = ZoneInfo("Africa/Cairo")
BODY = (
    "<p>أعلنت السلطات المحلية في المدينة عن افتتاح سوق جديد للمنتجات الفلاحية قرب المحطة الطرقية،"
    " في خطوة قالت إنها ستخفف الضغط على الأسواق القديمة وسط المدينة.</p>"
    "<p>وأوضح مسؤول بالجماعة أن السوق يضم أكثر من مئتي محل، وأن الباعة المتجولين ستكون لهم الأولوية"
    " في الاستفادة من المحلات خلال الأشهر الأولى.</p>"
)
TITLE = "افتتاح سوق جديد للمنتجات الفلاحية قرب المحطة الطرقية"


def local(*args: int, offset: int) -> datetime:
    return datetime(*args, tzinfo=timezone(timedelta(hours=offset)))


def read(html: str, tz: ZoneInfo = CASABLANCA) -> datetime | None:
    return published_time(LexborHTMLParser(html), tz)


def assert_moment(got: datetime | None, expected: datetime) -> None:
    """The same instant with the same UTC offset: the local day and hour a reader sees."""
    assert got is not None
    assert (got, got.utcoffset()) == (expected, expected.utcoffset())


def page(inner: str, head: str = "", lang: str = "ar") -> str:
    return (
        f'<html lang="{lang}"><head><meta charset="utf-8"><title>{TITLE} - جريدة المدينة</title>'
        f'<meta property="og:title" content="{TITLE}">{head}</head><body>{inner}</body></html>'
    )


def test_dateline_beside_the_title_when_the_first_h1_is_the_logo() -> None:
    html = page(
        '<header><h1 class="logo"><a href="/">جريدة المدينة</a></h1>'
        '<div class="today">الأحد، ٢٩ نونبر، ٢٠٢٦</div></header>'
        '<ul class="menu"><li><a href="/c/1">سياسة</a></li><li><a href="/c/2">رياضة</a></li></ul>'
        f'<div class="post"><h1 class="post-title">{TITLE}</h1>'
        '<div class="meta">الخميس، ١٧ نونبر، ٢٠٢٢ - ١٠:٣٠</div>'
        f"{BODY}</div>"
    )
    assert_moment(read(html), local(2022, 11, 17, 10, 30, offset=1))


def test_a_read_also_box_between_title_and_byline_is_passed_over() -> None:
    html = page(
        f"<article><h1>{TITLE}</h1><p>سوق من الجيل الجديد بمعايير صحية حديثة</p>"
        '<div class="box"><h3><span>اقرأ أيضا</span></h3>'
        '<div><a href="/n/1">تأجيل افتتاح المسبح البلدي إلى الصيف المقبل</a></div>'
        "<div>03/02/2022 08:15</div>"
        '<div><a href="/n/2">حملة لتنظيف الشواطئ بمشاركة جمعيات الحي</a></div>'
        "<div>28/01/2022 17:40</div></div>"
        '<p class="byline">نشر في 14/03/2022 - 19:05</p>'
        f"{BODY}</article>"
    )
    assert_moment(read(html), local(2022, 3, 14, 19, 5, offset=1))


def test_a_related_list_before_the_article_and_its_time_tags_are_passed_over() -> None:
    html = page(
        '<div class="related-posts"><h4>أخبار ذات صلة</h4><ul>'
        '<li><a href="/n/7">إصلاح الطريق الساحلي</a> <time datetime="2021-06-01T09:00:00+01:00">'
        "1 يونيو 2021</time></li></ul></div>"
        f"<h1>{TITLE}</h1>"
        '<time datetime="2022-03-14T19:05:00+01:00">14 مارس 2022</time>'
        f"{BODY}"
    )
    assert_moment(read(html), local(2022, 3, 14, 19, 5, offset=1))


def test_a_related_box_named_by_its_class_alone_is_passed_over() -> None:
    html = page(
        '<div class="related-posts"><ul><li><a href="/n/7">إصلاح الطريق</a>'
        ' <time datetime="2021-06-01T09:00:00+01:00">الثلاثاء 1 يونيو 2021</time></li></ul></div>'
        f"<h1>{TITLE}</h1>"
        '<time datetime="2022-03-14T19:05:00+01:00">14 مارس 2022</time>'
        f"{BODY}"
    )
    assert_moment(read(html), local(2022, 3, 14, 19, 5, offset=1))


def test_teasers_of_other_articles_that_no_class_names_are_passed_over() -> None:
    html = page(
        f"<h1>{TITLE}</h1><p>سوق من الجيل الجديد بمعايير صحية حديثة</p><div>"
        '<div><a href="/n/31">مجلس الجهة يصادق على ميزانية السنة المقبلة بالإجماع</a>'
        "<span>09.08.2021 10:52</span></div>"
        '<div><a href="/n/32">انطلاق موسم الحصاد في السهول المجاورة للمدينة</a>'
        "<span>07.08.2021 18:20</span></div></div>"
        '<div><a href="/author/souad">سعاد العلوي</a> <span>14/03/2022 19:05</span></div>'
        f"{BODY}"
    )
    assert_moment(read(html), local(2022, 3, 14, 19, 5, offset=1))


def test_a_byline_with_a_long_author_link_keeps_its_date() -> None:
    html = page(
        f"<h1>{TITLE}</h1>"
        '<div><a href="/author/souad">سعاد بنت عبد الله العلوي الإدريسي</a>'
        " <span>14/03/2022 19:05</span></div>"
        f"{BODY}"
    )
    assert_moment(read(html), local(2022, 3, 14, 19, 5, offset=1))


def test_a_date_inside_a_sentence_yields_to_a_dateline_line() -> None:
    # A photo credit written as a sentence right under the title, the dateline a line below.
    html = page(
        f"<h1>{TITLE}</h1><div>صورة للمحطة الطرقية التقطها مصور الجريدة خلال زيارة ميدانية"
        " يوم 2 يناير 2019 قبل بدء الأشغال</div><p>السبت 5 فبراير 2022</p>"
        f"{BODY}"
    )
    assert_moment(read(html), local(2022, 2, 5, offset=1))


def test_a_photo_caption_date_yields_to_the_dateline() -> None:
    html = page(
        f"<h1>{TITLE}</h1><figure><figcaption>صورة من أرشيف الجريدة التقطت يوم 2 يناير 2019 قرب"
        " المحطة</figcaption></figure><div>السبت 5 فبراير 2022</div>"
        f"{BODY}"
    )
    assert_moment(read(html), local(2022, 2, 5, offset=1))


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ar", local(2022, 5, 3, 12, 0, offset=0)),  # day first: 3 May, in Ramadan 2022 (+00)
        ("fr", local(2022, 5, 3, 12, 0, offset=0)),
        ("en-US", local(2022, 3, 5, 12, 0, offset=1)),  # month first: 5 March (+01)
    ],
)
def test_numeric_dateline_in_the_page_order(lang: str, expected: datetime) -> None:
    html = page(f'<h1>{TITLE}</h1><p class="date">03/05/2022 12:00</p>{BODY}', lang=lang)
    assert_moment(read(html), expected)


@pytest.mark.parametrize(
    ("stamp", "lang"),
    [
        ("June 9, 2024 / 9:05 PM / Updated 2 minutes ago", "en"),  # Reuters' dateline
        ("9 يونيو 2024 / 21:05", "ar"),
        ("الأحد 9 يونيو 2024 · 21:05", "ar"),
        ("9 juin 2024 | 21h05", "fr"),
    ],
)
def test_the_clock_after_a_slash_a_pipe_or_a_dot_is_the_datelines(stamp: str, lang: str) -> None:
    html = page(f'<h1>{TITLE}</h1><p class="date">{stamp}</p>{BODY}', lang=lang)
    assert_moment(read(html), local(2024, 6, 9, 21, 5, offset=1))


def test_an_ambiguous_numeric_date_on_a_page_of_unknown_order_is_not_guessed() -> None:
    html = page(f'<h1>{TITLE}</h1><p class="date">03/05/2022 12:00</p>{BODY}', lang="en")
    assert read(html) is None


def test_the_local_offset_is_kept_over_a_bare_utc_time() -> None:
    # 23:59:50 on the 24th in UTC is 01:59:50 on the 25th in Cairo: the day a reader saw.
    head = (
        '<meta property="article:published_time" content="2020-12-24T23:59:50+00:00">'
        '<script type="application/ld+json">{"@type": "NewsArticle",'
        ' "datePublished": "2020-12-25T01:59:50+02:00"}</script>'
    )
    got = read(page(f"<h1>{TITLE}</h1>{BODY}", head=head))
    assert_moment(got, local(2020, 12, 25, 1, 59, 50, offset=2))


def test_a_bare_utc_time_is_shown_in_the_source_zone() -> None:
    head = '<meta property="article:published_time" content="2024-07-04T23:30:00Z">'
    got = read(page(f"<h1>{TITLE}</h1>{BODY}", head=head))
    assert_moment(got, local(2024, 7, 5, 0, 30, offset=1))
    assert got is not None and got.date().isoformat() == "2024-07-05"


@pytest.mark.parametrize("stamp", ["2022-03-14T19:05:00Z", "2022-03-14T18:05:00Z"])
def test_a_local_time_stamped_utc_is_read_by_the_dateline_beside_it(stamp: str) -> None:
    # The page shows 19:05 local. A site that writes that clock with "Z" mislabels it; a site
    # that writes 18:05Z is right. Both are 19:05 in Casablanca (UTC+01 in March 2022).
    head = f'<meta property="article:published_time" content="{stamp}">'
    html = page(f"<h1>{TITLE}</h1><p>الإثنين 14 مارس 2022 - 19:05</p>{BODY}", head=head)
    assert_moment(read(html), local(2022, 3, 14, 19, 5, offset=1))


def test_an_arabic_string_in_the_published_time_meta() -> None:
    head = '<meta property="article:published_time" content="الأربعاء، 12 يناير 2022 - 09:45 م">'
    assert_moment(
        read(page(f"<h1>{TITLE}</h1>{BODY}", head=head), CAIRO),
        local(2022, 1, 12, 21, 45, offset=2),
    )


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2024/07/04", local(2024, 7, 4, offset=1)),
        ("2025/03/10", local(2025, 3, 10, offset=0)),  # Ramadan 2025: Casablanca is UTC+00
    ],
)
def test_the_canonical_address_gives_the_day_when_the_page_itself_says_nothing(
    day: str, expected: datetime
) -> None:
    # No metadata, no dateline: only the canonical address carries the day.
    head = f'<link rel="canonical" href="https://news.example.ma/{day}/souk-jadid">'
    html = page(f"<h1>{TITLE}</h1>{BODY}", head=head)
    assert_moment(read(html), expected)


def test_a_dateline_labelled_as_the_last_update_yields_to_the_day_in_the_pages_address() -> None:
    # CNN Arabic's stamp: the day and the clock of the last update, nothing of the publication,
    # which only the address gives (/2013/middle_east/8/3/).
    head = '<meta property="og:url" content="https://arabic.example.com/2024/world/6/9/souk/">'
    html = page(
        f'<h1>{TITLE}</h1><div class="stamp">الأربعاء، 19 حزيران/يونيو 2024، آخر تحديث 14:00'
        f" (GMT+0400)</div>{BODY}",
        head=head,
    )
    assert_moment(read(html), local(2024, 6, 9, offset=1))


@pytest.mark.parametrize(
    "stamp",
    [
        "نشر في: 9 يونيو 2024 - 10:15 | آخر تحديث: 19 يونيو 2024 - 14:00",
        "آخر تحديث: 19 يونيو 2024 - 14:00 | نشر في: 9 يونيو 2024 - 10:15",
        "Publié le 9 juin 2024 à 10h15, mis à jour le 19 juin 2024 à 14h00",
    ],
)
def test_of_a_publication_and_an_update_the_publication_wins(stamp: str) -> None:
    html = page(f"<h1>{TITLE}</h1><p>{stamp}</p>{BODY}")
    assert_moment(read(html), local(2024, 6, 9, 10, 15, offset=1))


def test_an_update_label_after_a_date_without_a_clock_leaves_it_the_publications() -> None:
    # «Updated 2 minutes ago» after the date: the date is still the publication's (Reuters).
    html = page(f"<h1>{TITLE}</h1><p>9 يونيو 2024 - 10:15 - محدث قبل دقيقتين</p>{BODY}")
    assert_moment(read(html), local(2024, 6, 9, 10, 15, offset=1))


def test_an_update_is_the_last_resort() -> None:
    # Nothing else says when: a publication cannot be later than its last update.
    html = page(f"<h1>{TITLE}</h1><p>آخر تحديث: 19 يونيو 2024 - 14:00</p>{BODY}")
    assert_moment(read(html), local(2024, 6, 19, 14, 0, offset=1))


def test_a_modification_time_tag_is_not_the_publication() -> None:
    html = page(
        f"<h1>{TITLE}</h1>"
        '<time itemprop="dateModified" datetime="2024-06-19T14:00:00+01:00">19/06/2024</time>'
        '<time class="stamp-upd" datetime="2024-06-18T09:00:00+01:00">18/06/2024</time>'
        f'<time itemprop="dateCreated" datetime="2024-06-09T10:15:00+01:00">9/6/2024</time>{BODY}'
    )
    assert_moment(read(html), local(2024, 6, 9, 10, 15, offset=1))


def test_a_page_without_any_date_stays_undated() -> None:
    assert read(page(f"<h1>{TITLE}</h1>{BODY}")) is None


def test_extract_article_uses_the_same_reading() -> None:
    html = page(f'<h1 class="logo">المدينة</h1><h1>{TITLE}</h1><span>24.08.2020 09:23</span>{BODY}')
    article = extract_article(html, "https://news.example.ma/a/1", CASABLANCA)
    assert article.published is not None
    assert_moment(article.published, local(2020, 8, 24, 9, 23, offset=1))


def test_the_article_title_is_the_heading_that_matches_og_title_not_the_logo() -> None:
    html = page(
        '<h1 class="site-name">جريدة المدينة الإلكترونية</h1>'
        f'<h1 class="entry-title">{TITLE}</h1><p>السبت 5 فبراير 2022</p>{BODY}'
    )
    article = extract_article(html, "https://news.example.ma/a/2", CASABLANCA)
    assert article.title == TITLE
    assert_moment(article.published, local(2022, 2, 5, offset=1))


def test_the_callers_tree_is_left_as_it_was() -> None:
    tree = LexborHTMLParser(
        page(f'<aside><a href="/x">رابط</a></aside><h1>{TITLE}</h1><p>5 فبراير 2022</p>{BODY}')
    )
    before = tree.html
    published_time(tree, CASABLANCA)
    assert tree.html == before
