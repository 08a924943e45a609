"""A homepage flattened in document order, so that "is X inside Y" costs O(1).

Reading a homepage asks, for every link, which block holds it, whether a label introduces that
block, whether it sits in a menu or in running text. Walking up the parents for each of those
questions is quadratic on deeply nested pages. Here every element gets its preorder index, its
parent's index and the index where its subtree ends, in one linear walk; X is inside Y when
`Y <= X < end[Y]`, and "the anchors inside Y" is a bisect over sorted indices.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Blocks whose links are navigation, sharing, tags or comments, never headlines.
_ZONE = re.compile(
    r"(?:^|[\s_-])(?:menu|sub-?menu|breadcrumbs?|share|sharing|social|socials|tags|tag-?list"
    r"|pagination|pager|comments?|footer-?menu|top-?menu|sitenav|mainnav|nav|navbar|navigation)(?:$|[\s_-])",
    re.I,
)
_ZONE_TAGS = frozenset({"nav", "footer"})


@dataclass
class Outline:
    """The elements of a page in document order (preorder), with their relations as indices.

    `nodes[i]` is the element, `tags[i]` its lowercase tag, `parents[i]` its parent's index (-1
    at the root), `ends[i]` the index after its last descendant, `names[i]` its class and id
    (lowercase, space separated), `in_zone[i]` whether it sits in a menu, footer, share bar,
    tag list or comment thread. `anchors` are the indices of `<a>` elements, ascending.
    """

    nodes: list[LexborNode] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    attributes: list[dict[str, str | None]] = field(default_factory=list)
    in_zone: list[bool] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)
    index_of: dict[int, int] = field(default_factory=dict)  # node.mem_id -> index

    def inside(self, inner: int, outer: int) -> bool:
        return outer <= inner < self.ends[outer]

    def within(self, sorted_indices: list[int], start: int, end: int) -> list[int]:
        """The indices of `sorted_indices` in [start, end)."""
        return sorted_indices[bisect_left(sorted_indices, start) : bisect_left(sorted_indices, end)]

    def count_within(self, sorted_indices: list[int], start: int, end: int) -> int:
        return bisect_left(sorted_indices, end) - bisect_left(sorted_indices, start)

    def text(self, index: int) -> str:
        """The element's visible text on one line."""
        return " ".join(self.nodes[index].text(deep=True, separator=" ").split())

    def size(self, index: int) -> int:
        """How many elements the subtree holds, the element included."""
        return self.ends[index] - index

    def describe(self, index: int) -> str:
        """A CSS-like name for the element: `div#tie-breaking.breaking-news`."""
        attributes = self.attributes[index]
        out = self.tags[index]
        if attributes.get("id"):
            out += "#" + str(attributes["id"]).strip()
        classes = (attributes.get("class") or "").split()
        if classes:
            out += "." + ".".join(classes[:3])
        return out


def outline(tree: LexborHTMLParser) -> Outline:
    """Flatten `tree` (elements only); linear in the number of elements."""
    page = Outline()
    root = tree.root
    if root is None:
        return page
    index_of = page.index_of
    # Local names for the appends: this loop runs once per element of the page.
    nodes, tags, parents = page.nodes, page.tags, page.parents
    names_of, attributes_of, in_zone = page.names, page.attributes, page.in_zone
    anchors = page.anchors
    zone_search = _ZONE.search
    zones: dict[str, bool] = {}
    for node in root.traverse(include_text=False):
        tag = node.tag or ""
        if tag[:1] == "-":  # -document, -comment, -text
            continue
        index = len(nodes)
        parent = node.parent
        parent_index = index_of.get(parent.mem_id, -1) if parent is not None else -1
        index_of[node.mem_id] = index
        attributes = node.attributes
        names = ""
        if attributes:
            names = f"{attributes.get('class') or ''} {attributes.get('id') or ''}".lower()
        zone = tag in _ZONE_TAGS
        if len(names) > 1 and not zone:
            known = zones.get(names)  # class names repeat: one search per distinct name
            if known is None:
                known = zones[names] = zone_search(names) is not None
            zone = known
        nodes.append(node)
        tags.append(tag)
        parents.append(parent_index)
        names_of.append(names)
        attributes_of.append(attributes)
        in_zone.append(zone or (parent_index >= 0 and in_zone[parent_index]))
        if tag == "a":
            anchors.append(index)
    page.ends = list(range(1, len(nodes) + 1))
    # A subtree ends where its last descendant's subtree ends: children come after their
    # parent in preorder, so one pass backwards settles every element.
    ends = page.ends
    for index in range(len(ends) - 1, -1, -1):
        up = parents[index]
        if up >= 0 and ends[index] > ends[up]:
            ends[up] = ends[index]
    return page
