"""Summaries start at the article's text: a dateline, an image's caption or a photo credit that
the extractor finds above the first paragraph is no sentence of the story.

Pages are composed here (their Arabic written for these tests); the real almadenahnews page of
../shared/corpus is read in place.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.news.article import extract_article
from bot.news.summary import summarize
from tests.conftest import CORPUS

ZONE = ZoneInfo("Africa/Casablanca")
TITLE = "افتتاح محطة جديدة لتحلية مياه البحر جنوب المدينة"
DATELINE = "تم النشر يوم الأحد 29 نونبر 2026 على الساعة 10:40"
CAPTION = "محطة التحلية قيد الإنشاء"
BODY = [
    "أعلنت السلطات الجهوية صباح اليوم عن تشغيل محطة جديدة لتحلية مياه البحر جنوب المدينة،"
    " بطاقة إنتاجية تكفي حاجيات أكثر من ثلاثمئة ألف نسمة.",
    "وقال مدير المشروع إن المحطة ستخفف الضغط على السدود التي تراجع مخزونها بفعل توالي"
    " سنوات الجفاف، وإن مرحلتها الثانية ستنطلق خلال السنة المقبلة.",
    "وينتظر أن تشمل المرحلة الثانية ربط الجماعات القروية المجاورة بشبكة التوزيع، حسب ما"
    " أوضحه المسؤول في ندوة صحفية عقدت بمقر الولاية.",
]


def page(top: str, body: list[str] = BODY) -> str:
    # As almadenahnews lays an article out: the dateline under the title, then a box with the
    # photo and its caption, then the text as spans split by <br> in one paragraph.
    spans = "<br />".join(f"<span>{p}</span>" for p in body)
    return (
        f'<html lang="ar"><head><meta charset="utf-8"><title>{TITLE}</title></head><body>'
        '<div class="box"><div class="boxTitle"><a href="/category/x">جهات</a></div>'
        '<div id="main_article_content"><div class="main_artlce_title">'
        f'<h1>{TITLE}</h1>{top}</div><div class="main_article_body"><p dir="rtl">{spans}</p>'
        "</div></div></div></body></html>"
    )


IMAGE_BOX = (
    f'</div><div class="article_image"><img src="/p/1.jpg" alt="{TITLE}" title="{TITLE}">'
    f'<div></div><div class="red">{CAPTION}</div></div><div>'
)


def test_a_leading_dateline_and_image_caption_are_not_the_body_nor_the_summary() -> None:
    top = f'<div class="article_created">{DATELINE}</div>{IMAGE_BOX}'
    article = extract_article(page(top), None, ZONE)
    assert list(article.paragraphs) == BODY
    assert summarize(article.paragraphs, article.title)[0] == BODY[0]


@pytest.mark.parametrize(
    "credit", ["تصوير: سعيد الإدريسي", "(صورة أرشيفية)", "Photo : AFP", "© Reuters"]
)
def test_a_photo_credit_above_the_text_goes(credit: str) -> None:
    article = extract_article(page(f'<div class="article_created">{credit}</div>'), None, ZONE)
    assert list(article.paragraphs) == BODY


def test_a_first_paragraph_that_mentions_a_date_or_an_image_stays() -> None:
    # A sentence with a date is no dateline; a short first line that no image carries stays.
    lead = "أعلنت الولاية يوم 29 نونبر 2026 عن موعد تشغيل المحطة الجديدة رسميا أمام العموم"
    short = "صور الأقمار الصناعية تظهر حجم الأشغال"
    article = extract_article(page("", [lead, short, *BODY]), None, ZONE)
    assert list(article.paragraphs) == [lead, short, *BODY]


def test_a_dateline_is_never_a_summarys_sentence() -> None:
    # Wherever it stands: a feed's description or a body the extractor did not clean.
    paragraphs = [BODY[0], DATELINE + ".", *BODY[1:]]
    assert DATELINE + "." not in summarize(paragraphs, TITLE, count=3)


ALMADENAH = CORPUS / "htmldate__almadenahnews_jo_2020_article.html"


@pytest.mark.skipif(not ALMADENAH.is_file(), reason=f"the shared corpus is absent ({ALMADENAH})")
def test_almadenahnews_summary_starts_at_the_article_text() -> None:
    # Above its text: «تم نشره الجمعة 24 نيسان / أبريل 2020 09:22 مساءً» and the caption
    # of its photo (div.article_image > img + div.red).
    from bot.news.encoding import decode

    article = extract_article(decode(ALMADENAH.read_bytes()), None, ZONE)
    first = article.paragraphs[0]
    assert first.startswith("المدينة نيوز"), first
    summary = summarize(article.paragraphs, article.title)
    assert summary[0].startswith("المدينة نيوز")
    assert not any("تم نشره" in s for s in summary)
    assert len(article.paragraphs) == 3
