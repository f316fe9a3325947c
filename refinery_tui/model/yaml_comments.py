"""Comments written after the last item of a YAML mapping or list (a footer, or the heading of the next section)
survive that item's removal: ruamel keeps them on the item, so they move to the item that ends the collection."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken


def _slot(collection: CommentedMap | CommentedSeq) -> int:
    """Where ruamel keeps the comment that follows an item: after a mapping's value, after a list's item."""
    return 2 if isinstance(collection, CommentedMap) else 0


def _last(collection: CommentedMap | CommentedSeq) -> Any:
    if isinstance(collection, CommentedMap):
        return next(reversed(collection), None)
    return len(collection) - 1 if collection else None


def delete_item(collection: CommentedMap | CommentedSeq, key: Any) -> str:
    """Delete `key` (a mapping key or a list index); the comment lines that followed it when it was the last item,
    for `reattach` (its own end-of-line comment goes with it)."""
    trailing = ""
    if key == _last(collection):
        token = (collection.ca.items.get(key) or [None] * 4)[_slot(collection)]
        if token is not None and "\n" in token.value:
            trailing = token.value.split("\n", 1)[1]
    del collection[key]
    return trailing


def reattach(text: str, collection: CommentedMap | CommentedSeq) -> None:
    """Put comment lines after the collection's last item, or after the collection itself (`[]`, `{}`) when it is
    empty."""
    if not text.strip():
        return
    token = CommentToken("\n" + text, CommentMark(0), None)
    if not collection:
        collection.fa.set_flow_style()
        collection.ca.comment = [token, None]
        return
    comments = collection.ca.items.setdefault(_last(collection), [None] * 4)
    slot = _slot(collection)
    if comments[slot] is None:
        comments[slot] = token
    else:
        comments[slot].value += text
