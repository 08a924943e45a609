"""Near-duplicate headlines: the same story from two sources, or a headline corrected in place.

Wording scores alone confuse «ارتفاع/انخفاض أسعار المحروقات» and «حريق في فاس/مكناس», so a
match needs close wording *and* no guard against it: the same numbers, the same places, and
no pair of opposite words. Matching is over light-stemmed content words within a time window
(24 h by default), through an inverted index so that a new headline is compared only with the
few recent ones that share a word with it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz

from bot.news.text import STOPWORDS, stem, words

THRESHOLD = 84.0
WINDOW = timedelta(hours=24)

# Places, one per line or separated by commas; several words make one place («بني ملال»).
_PLACE_NAMES = """
المغرب, الرباط, الدار البيضاء, البيضاء, فاس, مكناس, طنجة, تطوان, مراكش, أكادير, وجدة, الناظور,
الحسيمة, العيون, الداخلة, كلميم, تارودانت, بني ملال, خريبكة, سطات, الجديدة, آسفي, الصويرة,
ورزازات, الراشيدية, إفران, تازة, القنيطرة, سلا, تمارة, المحمدية, الخميسات, العرائش, القصر الكبير,
شفشاون, برشيد, سيدي قاسم, سيدي سليمان, تيزنيت, طانطان, السمارة, بوجدور, زاكورة, ميدلت, الفنيدق,
سبتة, مليلية, سوس ماسة, جهة الشرق, درعة تافيلالت, الجزائر, وهران, تونس, صفاقس, ليبيا, طرابلس,
بنغازي, مصر, القاهرة, الإسكندرية, موريتانيا, نواكشوط, السعودية, الرياض, جدة, مكة, الإمارات, دبي,
أبوظبي, قطر, الدوحة, الكويت, البحرين, مسقط, اليمن, صنعاء, عدن, العراق, بغداد, سوريا, دمشق, حلب,
لبنان, بيروت, الأردن, فلسطين, غزة, القدس, رام الله, السودان, الخرطوم, فرنسا, باريس, إسبانيا,
مدريد, برشلونة, إيطاليا, روما, ألمانيا, برلين, بلجيكا, بروكسل, هولندا, بريطانيا, لندن, أمريكا,
واشنطن, روسيا, موسكو, الصين, بكين, تركيا, أنقرة, إسطنبول, إيران, طهران, أوكرانيا, كييف, السنغال,
كندا, maroc, rabat, casablanca, fès, meknès, tanger, tétouan, marrakech, agadir, oujda, nador,
al hoceima, laâyoune, dakhla, kénitra, salé, témara, mohammedia, paris, madrid
"""


def _place_key(phrase: str) -> str:
    return " ".join(stem(w) for w in words(phrase))


PLACES = frozenset(_place_key(p) for p in _PLACE_NAMES.replace("\n", ",").split(",") if p.strip())
# Other names of the same place.
_ALIASES = {
    _place_key(alias): _place_key(name)
    for alias, name in (("البيضاء", "الدار البيضاء"), ("casablanca", "الدار البيضاء"))
}
_PLACE_LENGTHS = sorted({len(p.split()) for p in PLACES}, reverse=True)

# Words whose swap turns a story into another: prices up or down, a win or a loss.
_OPPOSITES = [
    ("ارتفاع", "انخفاض"),
    ("ارتفاع", "تراجع"),
    ("يرتفع", "ينخفض"),
    ("ترتفع", "تنخفض"),
    ("زياده", "تخفيض"),
    ("زياده", "نقص"),
    ("فوز", "هزيمه"),
    ("فوز", "خساره"),
    ("يفوز", "يخسر"),
    ("فتح", "اغلاق"),
    ("رفع", "خفض"),
    ("قبول", "رفض"),
    ("تاجيل", "تقديم"),
    ("براءه", "ادانه"),
    ("hausse", "baisse"),
    ("victoire", "defaite"),
    ("ouverture", "fermeture"),
]
OPPOSITES: dict[str, frozenset[str]] = {}
for _a, _b in _OPPOSITES:
    OPPOSITES[_a] = OPPOSITES.get(_a, frozenset()) | {_b}
    OPPOSITES[_b] = OPPOSITES.get(_b, frozenset()) | {_a}


@dataclass(frozen=True)
class Fingerprint:
    """What the comparison of two headlines looks at."""

    tokens: tuple[str, ...]
    numbers: frozenset[str]
    places: frozenset[str]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def fingerprint(title: str) -> Fingerprint:
    raw = words(title)
    tokens = tuple(stem(w) for w in raw if w not in STOPWORDS)
    stems = [stem(w) for w in raw]
    places = set()
    for size in _PLACE_LENGTHS:
        for start in range(len(stems) - size + 1):
            phrase = " ".join(stems[start : start + size])
            if phrase in PLACES:
                places.add(_ALIASES.get(phrase, phrase))
    # «الدار البيضاء» also contains «البيضاء»: keep only the longest names.
    places = {p for p in places if not any(p != q and f" {p} " in f" {q} " for q in places)}
    numbers = frozenset(w.lstrip("0") or "0" for w in raw if w.isdigit())
    return Fingerprint(tokens, numbers, frozenset(places))


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """0-100: how close the wording is, or 0 when a guard says the stories differ."""
    if not a.tokens or not b.tokens:
        return 0.0
    if a.numbers != b.numbers and a.numbers and b.numbers:
        return 0.0
    if a.places and b.places and a.places != b.places:
        return 0.0
    set_a, set_b = set(a.tokens), set(b.tokens)
    for word in set_a ^ set_b:
        if OPPOSITES.get(word, frozenset()) & (set_b if word in set_a else set_a):
            return 0.0
    # token_set_ratio forgives one title being a longer version of the other; the sort ratio
    # keeps two short titles sharing one word from looking identical.
    set_score = fuzz.token_set_ratio(a.text, b.text)
    sort_score = fuzz.token_sort_ratio(a.text, b.text)
    return float(0.5 * set_score + 0.5 * sort_score)


def same_story(a: str, b: str, threshold: float = THRESHOLD) -> bool:
    return similarity(fingerprint(a), fingerprint(b)) >= threshold


@dataclass(eq=False)
class _Entry:
    item_id: int
    story_id: int
    seen_at: datetime
    print: Fingerprint
    words: frozenset[str]


class StoryIndex:
    """Recent headlines by their words, to find the story a new headline belongs to."""

    def __init__(self, window: timedelta = WINDOW, threshold: float = THRESHOLD) -> None:
        self.window = window
        self.threshold = threshold
        self._entries: deque[_Entry] = deque()
        self._by_word: defaultdict[str, list[_Entry]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, item_id: int, title: str, seen_at: datetime, story_id: int | None = None) -> None:
        """Remember a headline (in order of `seen_at`); it starts a story unless told otherwise."""
        prints = fingerprint(title)
        entry = _Entry(item_id, story_id or item_id, seen_at, prints, frozenset(prints.tokens))
        self._entries.append(entry)
        for word in entry.words:
            self._by_word[word].append(entry)

    def find(self, title: str, at: datetime) -> int | None:
        """The story id of the closest recent headline telling the same story, if any."""
        self._expire(at)
        new = fingerprint(title)
        mine = set(new.tokens)
        # Candidates come from the three rarest of the title's words that the window holds:
        # the same story shares its specific words, while a common word («الحكومة») would
        # drag in thousands of headlines to compare.
        buckets = sorted((self._by_word[w] for w in mine if w in self._by_word), key=len)[:3]
        candidates = {id(entry): entry for bucket in buckets for entry in bucket}
        # Two shared words at least, or one when a title is that short.
        need = 1 if len(mine) <= 2 else 2
        best: tuple[float, int] | None = None
        for entry in candidates.values():
            if len(mine & entry.words) < need:
                continue
            score = similarity(new, entry.print)
            if score >= self.threshold and (best is None or score > best[0]):
                best = (score, entry.story_id)
        return best[1] if best else None

    def _expire(self, now: datetime) -> None:
        horizon = now - self.window
        while self._entries and self._entries[0].seen_at < horizon:
            old = self._entries.popleft()
            for word in old.words:
                bucket = self._by_word.get(word)
                if bucket:
                    # Entries arrive in time order, so the expired one is at the front.
                    if bucket[0] is old:
                        bucket.pop(0)
                    else:
                        bucket.remove(old)
                    if not bucket:
                        del self._by_word[word]
