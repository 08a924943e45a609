"""The urgent block of a homepage: found by its label, never by its class name alone.

Class and id names (ticker, breaking-news, trending, marquee, news-bar...) only point at
*candidate* blocks. A block is urgent when an urgent label introduces it: its text («عاجل»,
«خبر عاجل», "Breaking news", "Dernière minute"...), a data-* attribute (Sputnik's
`li[data-list="عاجل"]`) or an image's alt text; or when the source's `ticker_selector` names it.
A block labelled latest, most read, trending or news strip («آخر الأخبار», «شريط الأحداث»,
"Trending") lists ordinary headlines, and so does a candidate with no label at all (youm7's
`div.ticker`, beirutobserver's «شريط الأحداث» `breaking-news`). Source of the rule: issue 10 and
the saved pages of /work/shared/corpus (research.md, "What real pages taught us").
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field

from bot.news.markup import HEADINGS, absolute_url
from bot.news.outline import Outline
from bot.news.urgency import LabelKind, label_kind, might_be_label

_TICKER_NAME = re.compile(
    r"breaking|ticker|urgent|news-?bar|marquee|trending|flash-?news|akhbar-?3ajil|ajil|alert",
    re.I,
)
MAX_TICKER_LINKS = 40
MIN_TITLE = 12  # characters: shorter texts in a bar are labels, dates or buttons
MAX_ENTRY = 240  # characters: a longer text is a paragraph, not a bar's entry
_LABEL_TAGS = HEADINGS | frozenset(
    {"span", "strong", "b", "div", "p", "label", "em", "i", "li", "a", "small", "header", "dt"}
    | {"button"}
)
_NOT_CANDIDATES = frozenset({"html", "body", "head", "script", "style", "a"})
_NEAR = 12  # elements between a label and the first entry it introduces, at most
_SCAN = 400  # elements looked at for a bar's text items: bounded, so reading stays linear
EMPTY_BLOCK_NOTE = "urgent block is empty in the page: its script fills it"


@dataclass(frozen=True)
class Label:
    """A label on the page: the element carrying it, what it says, and where (text, data-x,
    image alt)."""

    index: int
    kind: LabelKind
    text: str
    via: str = ""

    def describe(self) -> str:
        where = f" ({self.via})" if self.via else ""
        return f"labelled «{self.text}»{where}"


@dataclass(frozen=True)
class TickerEntry:
    title: str
    url: str | None  # None: the bar gives no usable link (text only, javascript:)


@dataclass(frozen=True)
class UrgentReading:
    """The urgent blocks' entries, what each block was and why, and notes for the operator."""

    entries: list[TickerEntry]
    blocks: list[str]
    notes: list[str]
    # Candidates labelled as headlines («شريط الأحداث»): content even inside a menu bar.
    headline_blocks: list[int] = field(default_factory=list)
    # The urgent blocks (outline indices, as `blocks` names them), and those left empty.
    indices: list[int] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)
    # Blocks named like a ticker that are not taken as urgent, and why, for `ajil probe`:
    # "div.ticker (no label)", "div.breaking-news labelled «شريط الأحداث» (headlines)".
    passed_over: list[str] = field(default_factory=list)


def find_urgent(page: Outline, base_url: str, chosen: list[int] | None = None) -> UrgentReading:
    """Entries of the page's urgent blocks, in page order.

    `chosen`: the elements the source's `ticker_selector` names (urgent whatever their labels);
    None to find the urgent blocks by their labels.
    """
    entries: list[TickerEntry] = []
    blocks: list[str] = []
    notes: list[str] = []
    if chosen is not None:
        for block in _outermost(page, chosen):
            entries.extend(block_entries(page, block, base_url, chosen=True))
        return UrgentReading(_unique(entries), blocks, notes)
    labels = find_labels(page)
    label_indices = [label.index for label in labels]
    headline_blocks: list[int] = []
    passed_over: list[str] = []
    indices: list[int] = []
    empty: list[int] = []
    for block, label in _urgent_blocks(page, labels, label_indices, headline_blocks, passed_over):
        found = block_entries(page, block, base_url)
        blocks.append(f"{page.describe(block)} {label.describe()}")
        indices.append(block)
        if not found:
            empty.append(block)
            if EMPTY_BLOCK_NOTE not in notes:
                notes.append(EMPTY_BLOCK_NOTE)
        entries.extend(found)
    return UrgentReading(
        _unique(entries), blocks, notes, headline_blocks, indices, empty, passed_over
    )


def find_labels(page: Outline) -> list[Label]:
    """Every label on the page, in document order: short texts, data-* values, image alts."""
    labels: list[Label] = []
    for index, tag in enumerate(page.tags):
        attributes = page.attributes[index]
        for key, value in attributes.items():
            if key.startswith("data-") and value and might_be_label(value):
                kind = label_kind(value)
                if kind is not None:
                    labels.append(Label(index, kind, value.strip(), key))
        if tag == "img":
            alt = attributes.get("alt") or ""
            kind = label_kind(alt) if might_be_label(alt) else None
            if kind is not None:
                labels.append(Label(index, kind, alt.strip(), "image alt"))
            continue
        if tag not in _LABEL_TAGS or page.size(index) > 3:
            continue
        if tag == "a" and not _dead_link(attributes.get("href")):
            continue  # a link to a page («عاجل» in the menu) is navigation, not a label
        text = page.text(index)
        if might_be_label(text) and not _in_real_link(page, index) and not _holds_link(page, index):
            kind = label_kind(text)
            if kind is not None:
                labels.append(Label(index, kind, text))
    return labels


def _dead_link(href: str | None) -> bool:
    href = (href or "").strip().lower()
    return not href or href.startswith(("javascript:", "#"))


def _holds_link(page: Outline, index: int) -> bool:
    inner = page.within(page.anchors, index + 1, page.ends[index])
    return any(not _dead_link(page.attributes[a].get("href")) for a in inner)


def _in_real_link(page: Outline, index: int) -> bool:
    parent = page.parents[index]
    for _ in range(3):
        if parent < 0:
            return False
        if page.tags[parent] == "a" and not _dead_link(page.attributes[parent].get("href")):
            return True
        parent = page.parents[parent]
    return False


def _urgent_blocks(
    page: Outline,
    labels: list[Label],
    label_indices: list[int],
    headline_blocks: list[int],
    passed_over: list[str],
) -> list[tuple[int, Label]]:
    """(block, its urgent label) for every urgent block, outermost, in page order. Candidates
    labelled as headlines go to `headline_blocks`; every candidate not taken, described with
    its reason, to `passed_over`."""
    found: list[tuple[int, Label]] = []
    candidates = _candidates(page)
    for block in candidates:
        label = _block_label(page, block, labels, label_indices)
        if label is not None and label.kind == "urgent":
            found.append((block, label))
        elif label is not None:
            headline_blocks.append(block)
            passed_over.append(f"{page.describe(block)} {label.describe()} (headlines)")
        else:
            passed_over.append(f"{page.describe(block)} (no urgent label)")
    # Labels outside every candidate introduce the smallest block of links after them.
    spans = _Spans(page, candidates)
    for label in labels:
        if label.kind != "urgent" or spans.covers(label.index):
            continue
        introduced = _introduced_block(page, label)
        if introduced is not None and not spans.covers(introduced):
            found.append((introduced, label))
            spans.add(introduced)
    found.sort(key=lambda pair: pair[0])
    return found


class _Spans:
    """Disjoint subtrees, asked whether they cover an element in O(log n)."""

    def __init__(self, page: Outline, blocks: list[int]) -> None:
        self.page = page
        self.starts = sorted(blocks)

    def covers(self, index: int) -> bool:
        at = bisect_right(self.starts, index) - 1
        return at >= 0 and index < self.page.ends[self.starts[at]]

    def add(self, block: int) -> None:
        insort(self.starts, block)


def _candidates(page: Outline) -> list[int]:
    """Outermost elements named like a ticker (or a <marquee>) holding few enough links."""
    out: list[int] = []
    current_end = -1
    for index, tag in enumerate(page.tags):
        if index < current_end or tag in _NOT_CANDIDATES:
            continue
        if (
            _is_candidate(page, index)
            and page.count_within(page.anchors, index, page.ends[index]) <= MAX_TICKER_LINKS
        ):
            out.append(index)
            current_end = page.ends[index]
    return out


def _block_label(
    page: Outline, block: int, labels: list[Label], label_indices: list[int]
) -> Label | None:
    """The label introducing a candidate: the first one inside it before its first link, else
    one just before it (in its parent or grandparent, with no link in between)."""
    end = page.ends[block]
    links = page.within(page.anchors, block, end)
    first_link = links[0] if links else end
    first = bisect_left(label_indices, block)
    if first < len(labels) and labels[first].index < first_link:
        label = labels[first]
        if not links or first_link - label.index <= _NEAR:
            return label
        return None  # a badge far above the links introduces nothing
    ancestor = block
    for _ in range(2):
        if page.parents[ancestor] < 0:
            break
        ancestor = page.parents[ancestor]
    if first > 0:
        before = labels[first - 1]
        near = before.index >= ancestor and block - before.index <= _NEAR
        if near and page.count_within(page.anchors, before.index, block) == 0:
            return before
    return None


def _introduced_block(page: Outline, label: Label) -> int | None:
    """The smallest ancestor (3 levels at most) whose links all come after the label."""
    container = page.parents[label.index]
    for _ in range(3):
        if container < 0 or page.tags[container] in ("body", "html"):
            return None
        end = page.ends[container]
        if page.count_within(page.anchors, container, label.index) > 0:
            return None  # links before the label: it does not introduce this block
        after = page.count_within(page.anchors, label.index, end)
        if after > MAX_TICKER_LINKS:
            return None
        if after > 0:
            following = page.anchors[bisect_left(page.anchors, label.index)]
            # The label introduces links that follow it closely, not a list far below it
            # (a «عاجل» badge above an article and its "related" links).
            return container if following - label.index <= _NEAR else None
        if _text_items(page, container, label.index, near=True):
            return container
        if _only_label(page, container, label):
            return container  # an empty urgent block, filled by a script
        container = page.parents[container]
    return None


def _only_label(page: Outline, container: int, label: Label) -> bool:
    """The container holds the label and nothing readable else (kifache's `div.urgent`)."""
    return page.size(container) <= 12 and page.text(container) == page.text(label.index)


def block_entries(
    page: Outline, block: int, base_url: str, chosen: bool = False
) -> list[TickerEntry]:
    """The entries of an urgent block: its links' titles, or its text items when it has no
    links. A link that leads nowhere (javascript:, #) keeps its title with no URL. `chosen`:
    the block is the source's ticker_selector's (its leaf elements may be entries)."""
    entries: list[TickerEntry] = []
    for anchor in page.within(page.anchors, block, page.ends[block]):
        if page.size(anchor) > 40:
            continue
        title = page.text(anchor)
        if len(title) < MIN_TITLE or label_kind(title) is not None:
            continue
        entries.append(
            TickerEntry(title, absolute_url(base_url, page.attributes[anchor].get("href")))
        )
    if entries:
        return entries
    return [TickerEntry(text, None) for text in _text_items(page, block, block, loose=chosen)]


def _holds_entries(page: Outline, index: int, wanted: tuple[str, ...]) -> bool:
    """Whether the element wraps elements of the wanted kinds that are entries themselves
    (`<div><p>A</p><span>B</span></div>` is two entries, not one «A B»)."""
    return any(
        page.tags[inner] in wanted and len(page.text(inner)) >= MIN_TITLE
        for inner in range(index + 1, page.ends[index])
    )


def _text_items(
    page: Outline, block: int, after: int, near: bool = False, loose: bool = False
) -> list[str]:
    """Texts of a bar without links, after `after`: its list items; in a bar its markup names
    (ticker, breaking, marquee... or the ticker_selector), also its leaf elements. Only
    headline-sized texts, so that a label above an article's paragraphs makes no entries."""
    named = loose or _is_candidate(page, block) or page.tags[block] in ("ul", "ol")
    kinds: list[tuple[str, ...]] = [("li",)]
    if named:
        kinds.append(("p", "span", "div", "marquee", "strong", "b"))
    items: list[str] = []
    taken_end = -1
    end = min(page.ends[block], after + 1 + _SCAN)
    for wanted in kinds:
        for index in range(after + 1, end):
            if index < taken_end or page.tags[index] not in wanted or page.size(index) > 4:
                continue
            text = page.text(index)
            if _holds_entries(page, index, wanted):
                continue  # a wrapper of several entries: they are taken one by one below it
            if MIN_TITLE <= len(text) <= MAX_ENTRY and label_kind(text) is None:
                if near and not items and index - after > _NEAR:
                    return []  # the first entry must follow the label closely
                items.append(text)
                taken_end = page.ends[index]
        if items:
            break
    return items[:MAX_TICKER_LINKS]


def _is_candidate(page: Outline, index: int) -> bool:
    return page.tags[index] == "marquee" or _TICKER_NAME.search(page.names[index]) is not None


def _outermost(page: Outline, blocks: list[int]) -> list[int]:
    out: list[int] = []
    current_end = -1
    for block in sorted(set(blocks)):
        if block >= current_end:
            out.append(block)
            current_end = page.ends[block]
    return out


def _unique(entries: list[TickerEntry]) -> list[TickerEntry]:
    seen: set[str] = set()
    out = []
    for entry in entries:
        key = entry.url or "text:" + entry.title
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out
