"""Arabic (and French) text for machines: normalization for matching, sentence splitting.

`normalize` is for comparing and searching only; what users see is always the original text.
"""

from __future__ import annotations

import re
import unicodedata

# Invisible characters that change nothing a reader sees but break matching: direction marks
# and embeddings, zero-width joiners and spaces, the Arabic letter mark, the BOM, soft hyphen.
_INVISIBLE = dict.fromkeys(
    [
        0x200B,
        0x200C,
        0x200D,
        0x200E,
        0x200F,
        0x061C,
        0xFEFF,
        0x00AD,
        0x2060,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    ],
    None,
)
_TATWEEL = "\u0640"
# After NFKD, hamza and madda become combining marks over a bare alef, waw or yeh, so dropping
# every combining mark turns أ إ آ into ا, ؤ into و and ئ into ي, and removes harakat and Latin
# accents alike.
_LETTERS = str.maketrans(
    {
        "ى": "ي",  # alef maksura
        "ة": "ه",  # teh marbuta
        "ٱ": "ا",  # alef wasla
        "ء": "",  # a lone hamza carries no meaning for matching
        "ک": "ك",  # Persian keheh, seen in pasted text
        "ی": "ي",  # Persian yeh
        "٪": "%",
        "،": ",",
        "؛": ";",
        "؟": "?",
    }
)
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def western_digits(text: str) -> str:
    """Eastern Arabic and Persian digits as 0-9; everything else unchanged."""
    return text.translate(_DIGITS)


def strip_invisible(text: str) -> str:
    return text.translate(_INVISIBLE)


def normalize(text: str) -> str:
    """A matching key: same letters for spellings a reader takes as the same word.

    Hamza and alef forms, ى/ي, ة/ه, tatweel, diacritics, direction marks, Eastern digits,
    presentation forms, case and runs of white space all stop mattering.
    """
    text = strip_invisible(text).replace(_TATWEEL, "")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.translate(_LETTERS).translate(_DIGITS).casefold()
    return _SPACES.sub(" ", text).strip()


def words(text: str) -> list[str]:
    """The normalized words of `text`, punctuation dropped."""
    return _WORD.findall(normalize(text))


# -- words for comparing ------------------------------------------------------------------

STOPWORDS = frozenset(
    words(
        "في من على الى إلى عن مع بعد قبل خلال حول بين ضد عند منذ حتى او أو ثم كما لكن هذا هذه ذلك"
        " تلك التي الذي الذين هو هي هم ان أن إن لا لم لن ما قد كل بعض غير اي أي وفق امام أمام"
        " le la les l de des du d un une et à a au aux en pour par sur dans avec sans est sont"
        " the a an of in on at to for by with from is are and or"
        # Filler that outlets add or drop without changing the story.
        " اقليم مدينه عماله رسميا عاجل جلاله المملكه"
    )
)
# Attached prepositions and conjunctions, longest first; only stripped when a real word remains.
_PREFIXES = ("وبال", "وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ل", "ف", "ك")


def stem(word: str) -> str:
    """A light stem: attached particles and the article go, and the present tense's ي/ت prefix,
    so that «بالمخدرات» meets «المخدرات» and «تفكك» meets «يفكك»."""
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            word = word[len(prefix) :]
            break
    if word[:1] in ("ي", "ت") and len(word) >= 4:
        word = word[1:]
    return word


# -- sentences --------------------------------------------------------------------------------

_TERMINATORS = ".!?؟؛"
_CLOSERS = "\"'»”’)]"
_OPENERS = "\"'«“‘(["


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph or body, verbatim, in order.

    A sentence ends at . ! ? ؟ or ؛ followed by white space or the end, with any closing quote or
    bracket kept on it. Not an end: a dot between digits (6.037), a colon (20:30), two or more
    dots or an ellipsis (the «..» of headlines), a dot after a single letter (initials such as
    «م.» or «J.»). Line breaks always end a sentence.
    """
    sentences: list[str] = []
    for line in text.splitlines():
        sentences.extend(_split_line(line))
    return sentences


def _split_line(line: str) -> list[str]:
    out: list[str] = []
    start = 0
    i = 0
    n = len(line)
    while i < n:
        char = line[i]
        if char not in _TERMINATORS and char != "…":
            i += 1
            continue
        # A run of terminators ("?!", "..", "...") is taken as one.
        j = i
        while j < n and (line[j] in _TERMINATORS or line[j] == "…"):
            j += 1
        run = line[i:j]
        while j < n and line[j] in _CLOSERS:
            j += 1
        at_break = j >= n or line[j].isspace()
        if at_break and _ends_sentence(line, i, run):
            piece = line[start:j].strip()
            if piece:
                out.append(piece)
            start = j
        i = j
    rest = line[start:].strip()
    if rest:
        out.append(rest)
    return out


def _ends_sentence(line: str, at: int, run: str) -> bool:
    if "…" in run or run.count(".") >= 2:
        return False  # «..» and ellipses join a headline's parts
    if run == ".":
        k = at - 1
        while k >= 0 and line[k] in _CLOSERS:
            k -= 1
        word_start = k
        while word_start >= 0 and line[word_start].isalpha():
            word_start -= 1
        letters = k - word_start
        if letters == 1 and (word_start < 0 or not line[word_start].isalnum()):
            return False  # an initial: «د.» or «J.»
    return True
